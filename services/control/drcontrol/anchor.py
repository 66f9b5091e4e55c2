"""Anchoring the audit chain outside the database.

The hash chain (:mod:`drcontrol.audit`) catches edits and deletions by anyone who does not
re-hash what follows. Someone who can write the audit tables can: re-seal records 48..93
with :func:`~drcontrol.audit.record_hash` and update the head, and the chain is "intact"
again. An *anchor* closes that gap: control signs the chain head (seq, hash, time) with an
Ed25519 key the database does not hold and appends it to a file outside the database,
every ``audit.anchor_interval_seconds``. A rewritten record changes every hash after it,
so the record an anchor names no longer carries the anchored hash; deleting records
leaves an anchor beyond the head. The public key verifies anchors anywhere
(``drctl audit verify --against ANCHORS --public-key KEY``).

Pure functions here; :mod:`drcontrol.anchoring` runs them every minute.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from drcontrol.audit import ChainHead, Verdict, verify_chain
from drcontrol.canonical import canonical_json
from drcontrol.model import AuditRecord


@dataclass(frozen=True, slots=True)
class Anchor:
    """A signed statement: at ``at``, record ``seq`` of the chain had hash ``hash``."""

    seq: int
    hash: str
    at: float
    key_id: str
    signature: str

    def line(self) -> str:
        """The anchor as one JSON line of an anchor file."""
        return json.dumps({"anchor": asdict(self)}, sort_keys=True)


def _payload(seq: int, hash_: str, at: float) -> bytes:
    return canonical_json({"seq": seq, "hash": hash_, "at": at}).encode()


def public_pem(key: Ed25519PublicKey) -> str:
    """The public key as PEM text."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key (sha256 of its raw bytes)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_private(pem: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (ValueError when it is not one)."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit signing key must be an Ed25519 private key")
    return key


def load_public(pem: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (ValueError when it is not one)."""
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the audit public key must be an Ed25519 public key")
    return key


def sign_head(key: Ed25519PrivateKey, head: ChainHead, at: float) -> Anchor:
    """Anchor ``head`` at time ``at``."""
    signature = key.sign(_payload(head.seq, head.hash, at))
    return Anchor(head.seq, head.hash, at, key_id(key.public_key()),
                  base64.b64encode(signature).decode())


def signature_ok(anchor: Anchor, public: Ed25519PublicKey) -> bool:
    """Whether ``anchor`` was signed by the holder of ``public``'s private key."""
    try:
        public.verify(base64.b64decode(anchor.signature), _payload(anchor.seq, anchor.hash,
                                                                   anchor.at))
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_anchors(lines: Iterable[str]) -> tuple[list[Anchor], str | None]:
    """Anchors of an anchor file and the public key PEM it names (None if it does not)."""
    anchors: list[Anchor] = []
    public = None
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        if "anchor" in item:
            a = item["anchor"]
            anchors.append(Anchor(int(a["seq"]), str(a["hash"]), float(a["at"]),
                                  str(a["key_id"]), str(a["signature"])))
        elif "public_key" in item:
            public = str(item["public_key"])
    return anchors, public


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def verify_against_anchors(records: Sequence[AuditRecord], head: ChainHead | None,
                           anchors: Sequence[Anchor], public: Ed25519PublicKey) -> Verdict:
    """The chain must be intact and carry, at every anchored position, the anchored hash."""
    verdict = verify_chain(records, head)
    if not verdict.ok:
        return verdict
    if not anchors:
        return Verdict(False, verdict.checked, None, "no anchor to verify against")
    by_seq = {r.seq: r.hash for r in records}
    last = records[-1].seq if records else 0
    for anchor in anchors:
        if not signature_ok(anchor, public):
            return Verdict(False, verdict.checked, anchor.seq,
                           f"the anchor of record {anchor.seq} signed {_when(anchor.at)} has "
                           "a bad signature (wrong key, or the anchor was altered)")
        if anchor.seq > last:
            return Verdict(False, verdict.checked, last + 1,
                           f"records {last + 1}..{anchor.seq} were deleted: the anchor signed "
                           f"{_when(anchor.at)} names record {anchor.seq}")
        if anchor.seq and by_seq.get(anchor.seq) != anchor.hash:
            return Verdict(False, verdict.checked, anchor.seq,
                           f"record {anchor.seq} differs from the anchor signed "
                           f"{_when(anchor.at)}: the chain up to it was rewritten")
    newest = max(anchors, key=lambda a: a.seq)
    return Verdict(True, verdict.checked, None,
                   f"chain intact and matches {len(anchors)} anchor(s), the newest at record "
                   f"{newest.seq} signed {_when(newest.at)}")


def verify_against_export(records: Sequence[AuditRecord], head: ChainHead | None,
                          earlier: Sequence[AuditRecord]) -> Verdict:
    """The chain must be intact and still hold every record of an earlier export unchanged."""
    verdict = verify_chain(records, head)
    if not verdict.ok:
        return verdict
    by_seq = {r.seq: r for r in records}
    for old in earlier:
        now = by_seq.get(old.seq)
        if now is None:
            return Verdict(False, verdict.checked, old.seq,
                           f"record {old.seq} of the earlier export is missing now")
        if now != old:
            return Verdict(False, verdict.checked, old.seq,
                           f"record {old.seq} differs from the earlier export: the chain was "
                           "rewritten")
    return Verdict(True, verdict.checked, None,
                   f"chain intact and holds all {len(earlier)} records of the earlier export")
