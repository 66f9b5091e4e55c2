"""Issue 14, finding 7 (numbered 5 in "what to build"): whoever can write the audit tables
could re-seal records 48..93 and the head with the project's own ``record_hash`` and
``drctl audit verify`` said "chain intact". Anchors signed outside the database catch it."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from drcontrol.anchor import (
    parse_anchors,
    sign_head,
    verify_against_anchors,
    verify_against_export,
)
from drcontrol.audit import GENESIS_HASH, ChainHead, seal, verify_chain
from drcontrol.model import AuditEntry, AuditRecord


def chain(n: int, actor: str = "ann") -> list[AuditRecord]:
    records, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        record = seal(AuditEntry(at=1000.0 + seq, actor=actor, action="operation.approved",
                                 target=f"op-{seq}"), seq=seq, prev_hash=prev)
        records.append(record)
        prev = record.hash
    return records


def rewrite(records: list[AuditRecord], start: int, actor: str) -> list[AuditRecord]:
    """What an attacker with database access does: change records from ``start`` on and
    re-seal every one after it, so the chain is consistent again."""
    out = records[: start - 1]
    prev = out[-1].hash if out else GENESIS_HASH
    for old in records[start - 1:]:
        entry = AuditEntry(at=old.at, actor=actor, action=old.action, target=old.target,
                           outcome=old.outcome, detail=old.detail)
        new = seal(entry, seq=old.seq, prev_hash=prev)
        out.append(new)
        prev = new.hash
    return out


def head(records: list[AuditRecord]) -> ChainHead:
    return ChainHead(records[-1].seq, records[-1].hash)


def test_a_resealed_chain_verifies_alone_but_not_against_its_anchor() -> None:
    key = Ed25519PrivateKey.generate()
    honest = chain(100)
    anchor = sign_head(key, ChainHead(93, honest[92].hash), at=2000.0)
    forged = rewrite(honest, 48, actor="mallory")
    assert verify_chain(forged, head(forged)).ok  # the finding: "chain intact"
    verdict = verify_against_anchors(forged, head(forged), [anchor], key.public_key())
    assert not verdict.ok and verdict.bad_seq == 93
    assert "record 93 differs from the anchor signed" in verdict.reason
    assert verify_against_anchors(honest, head(honest), [anchor], key.public_key()).ok


def test_deleted_tail_forged_anchor_and_earlier_export() -> None:
    key = Ed25519PrivateKey.generate()
    honest = chain(20)
    anchor = sign_head(key, head(honest), at=3000.0)
    cut = honest[:15]
    gone = verify_against_anchors(cut, head(cut), [anchor], key.public_key())
    assert not gone.ok and "records 16..20 were deleted" in gone.reason
    other = Ed25519PrivateKey.generate()
    forged_anchor = sign_head(other, head(honest), at=3000.0)
    bad = verify_against_anchors(honest, head(honest), [forged_anchor], key.public_key())
    assert not bad.ok and "bad signature" in bad.reason
    parsed, _ = parse_anchors([anchor.line()])
    assert parsed == [anchor]
    forged = rewrite(honest, 5, actor="mallory")
    export = verify_against_export(forged, head(forged), honest[:10])
    assert not export.ok and export.bad_seq == 5 and "differs from the earlier export" in \
        export.reason
    assert verify_against_export(honest, head(honest), honest[:10]).ok
