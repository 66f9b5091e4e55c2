"""The audit chain detects a modified, a deleted (middle or tail) or a reordered record."""

from __future__ import annotations

from drcontrol.audit import GENESIS_HASH, ChainHead, seal, verify_chain
from drcontrol.model import AuditEntry, AuditRecord
from hypothesis import given
from hypothesis import strategies as st


def chain(n: int) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        record = seal(AuditEntry(at=1000.0 + i, actor=f"u{i % 3}", action="operation.approved",
                                 target=f"op-{i}", detail={"n": i, "text": "确认"}),
                      seq=i, prev_hash=prev)
        records.append(record)
        prev = record.hash
    return records


def head_of(records: list[AuditRecord]) -> ChainHead:
    return ChainHead(records[-1].seq, records[-1].hash)


def test_intact_chain_verifies() -> None:
    records = chain(10)
    verdict = verify_chain(records, head_of(records))
    assert verdict.ok and verdict.checked == 10 and verdict.bad_seq is None


def test_modified_detail_names_the_record() -> None:
    records = chain(10)
    records[4] = records[4].model_copy(update={"detail": {"n": 999}})
    verdict = verify_chain(records, head_of(chain(10)))
    assert not verdict.ok and verdict.bad_seq == 5 and "modified" in verdict.reason


def test_rehashed_record_breaks_the_next_link() -> None:
    records = chain(10)
    forged = seal(AuditEntry(at=1.0, actor="mallory", action="x"), seq=5,
                  prev_hash=records[3].hash)
    records[4] = forged
    verdict = verify_chain(records, head_of(chain(10)))
    assert not verdict.ok and verdict.bad_seq == 6 and "link" in verdict.reason


def test_deleted_middle_record_is_missing() -> None:
    records = chain(10)
    del records[6]
    verdict = verify_chain(records, head_of(chain(10)))
    assert not verdict.ok and verdict.bad_seq == 7 and "missing" in verdict.reason


def test_deleted_tail_is_caught_by_the_head() -> None:
    full = chain(10)
    verdict = verify_chain(full[:8], head_of(full))
    assert not verdict.ok and verdict.bad_seq == 9 and "deleted" in verdict.reason


def test_without_head_tail_deletion_is_invisible_by_design() -> None:
    assert verify_chain(chain(10)[:8], None).ok


@given(index=st.integers(0, 7), field=st.sampled_from(["actor", "action", "target", "outcome"]),
       value=st.text(min_size=1, max_size=5))
def test_any_single_field_change_is_detected(index: int, field: str, value: str) -> None:
    records = chain(8)
    original = getattr(records[index], field)
    if value == original:
        return
    records[index] = records[index].model_copy(update={field: value})
    verdict = verify_chain(records, head_of(chain(8)))
    assert not verdict.ok and verdict.bad_seq == index + 1


def test_records_written_after_the_head_was_read_are_left_for_the_next_check() -> None:
    """The head is read first; the service keeps auditing, so records past it may come
    back with the others (a verify during a run raced on this)."""
    full = chain(12)
    verdict = verify_chain(full, head_of(full[:9]))
    assert verdict.ok and verdict.checked == 9
    # ... but what is at or below the head is still checked
    del full[3]
    assert not verify_chain(full, head_of(chain(9))).ok
