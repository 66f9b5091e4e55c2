"""The audit chain: every record holds the previous record's hash; seq has no gaps.

Sealing and verifying are pure functions so the server, ``drcontrol audit verify`` and
``drctl audit verify`` (on an export) share one definition of "intact".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from drcontrol.canonical import canonical_json
from drcontrol.model import AuditEntry, AuditRecord

GENESIS_HASH = "0" * 64


def record_hash(seq: int, entry: AuditEntry, prev_hash: str) -> str:
    """sha256 over the previous hash and the canonical JSON of the record's content."""
    body = canonical_json(
        {
            "seq": seq,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "target": entry.target,
            "outcome": entry.outcome,
            "detail": entry.detail,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def seal(entry: AuditEntry, *, seq: int, prev_hash: str) -> AuditRecord:
    """The record that follows ``prev_hash`` at position ``seq``."""
    return AuditRecord(
        seq=seq,
        prev_hash=prev_hash,
        hash=record_hash(seq, entry, prev_hash),
        **entry.model_dump(),
    )


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last sealed record as stored separately; catches deletion at the tail."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Outcome of a verification: ``bad_seq`` names the first record that is wrong."""

    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str = "chain intact"


def verify_chain(records: Iterable[AuditRecord], head: ChainHead | None) -> Verdict:
    """Check order, links and hashes; report the first bad record and why.

    Read the head first, then the records: records past the head were written after it
    was read (the service keeps auditing while it is verified) and are left for the next
    check; a record missing at or below the head is still a deletion."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for record in records:
        if head is not None and record.seq > head.seq:
            break
        if record.seq != expected_seq:
            return Verdict(False, checked, expected_seq,
                           f"record {expected_seq} is missing (next present is {record.seq})")
        if record.prev_hash != prev_hash:
            return Verdict(False, checked, record.seq,
                           f"record {record.seq} does not link to record {record.seq - 1}")
        entry = AuditEntry(at=record.at, actor=record.actor, action=record.action,
                           target=record.target, outcome=record.outcome, detail=record.detail)
        if record_hash(record.seq, entry, prev_hash) != record.hash:
            return Verdict(False, checked, record.seq,
                           f"record {record.seq} was modified (hash mismatch)")
        checked += 1
        prev_hash = record.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is not None and (head.seq != last_seq or (last_seq and head.hash != prev_hash)):
        if head.seq > last_seq:
            return Verdict(False, checked, last_seq + 1,
                           f"records {last_seq + 1}..{head.seq} were deleted (head is {head.seq})")
        return Verdict(False, checked, head.seq,
                       f"chain head {head.seq} does not match the last record {last_seq}")
    return Verdict(True, checked)
