"""The records of one transaction: every one under the record limit, large values in
chunk records right before the record that refers to them, and what apply rebuilds is
the transaction as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from drcapture.publish import CommittedTransaction, schema_messages, transaction_records
from drcapture.publish_records import OutRecord, RecordLimits, schema_records
from drcapture.settings import PublishSettings
from drcommon import serde
from drcommon.chunking import join, value_refs
from drcommon.errors import SinkError
from drcommon.model import (
    InvalidText,
    LobWrite,
    LobWrites,
    Operation,
    RowChange,
    TransactionInfo,
    TransactionMessage,
    ValueChunk,
    ValueRef,
)
from hypothesis import given, settings
from hypothesis import strategies as st

INFO = TransactionInfo(
    xid="0x0005.001.00000042", commit_scn=4242, commit_ts=datetime(2024, 5, 1, tzinfo=UTC),
    thread=1, commit_rba="0x1.2.3", changes_total=0, schemas=("HR", "SALES"),
)  # fmt: skip


def _rebuild(records: list[OutRecord]) -> dict[str, list[RowChange]]:
    """What a reader gets back per schema, checking the protocol on the way: chunks of a
    value contiguous and complete before the record that refers to them, tx chunks
    numbered 0.. with ``last`` on the final one, one ``start`` header per schema."""
    out: dict[str, list[RowChange]] = {}
    pending: dict[str, list[ValueChunk]] = {}
    expect: dict[str, int] = {}
    for record in records:
        message = serde.decode(record.value)
        headers = dict(record.headers)
        first = record.schema not in out
        assert headers["start"] == (b"1" if first else b"0")
        out.setdefault(record.schema, [])
        if isinstance(message, ValueChunk):
            assert record.kind == "value_chunk" and message.xid == INFO.xid
            pending.setdefault(message.id, []).append(message)
            continue
        assert isinstance(message, TransactionMessage) and record.kind == "tx"
        assert message.chunk == expect.get(record.schema, 0)
        expect[record.schema] = message.chunk + 1
        for change in message.changes:
            refs = {r.id: r for r in value_refs(change)}
            values = {i: join(r, pending.pop(i)) for i, r in refs.items()}
            out[record.schema].append(_inline(change, values))
        assert not pending, "chunks nobody refers to"
        if message.last:
            assert len(out[record.schema]) == message.changes_in_schema
    return out


def _inline(change: RowChange, values: dict[str, str]) -> RowChange:
    from drcommon.chunking import resolve

    return resolve(change, lambda ref: values[ref.id])


value = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(0, 5000).map(lambda n: "汉x\n"[n % 3] * n),  # long, multibyte
    st.binary(max_size=2000).map(lambda b: b.hex().upper()),
    st.builds(InvalidText, hex=st.integers(0, 1500).map(lambda n: "FF" * n),
              charset=st.just("AL32UTF8")),
    st.builds(LobWrites, oracle_type=st.just("CLOB"), length=st.none(),
              writes=st.lists(st.builds(LobWrite, offset=st.integers(0, 99),
                                        data=st.integers(0, 3000).map(lambda n: "é" * n)),
                              max_size=2).map(tuple)),
)  # fmt: skip
changes = st.lists(
    st.builds(
        RowChange, op=st.just(Operation.UPDATE), owner=st.sampled_from(["HR", "SALES"]),
        table=st.just("DOCS"), pk=st.just(("ID",)),
        before=st.dictionaries(st.sampled_from(["ID", "OLD"]), value, max_size=2),
        after=st.dictionaries(st.sampled_from(["A", "B", "C", "D", "E", "F"]), value, max_size=6),
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(changes, st.integers(1, 5), st.sampled_from([1024, 2048]), st.sampled_from([6000, 9000]))
def test_every_record_fits_and_the_transaction_comes_back(
    found: list[RowChange], max_changes: int, max_value: int, max_record: int
) -> None:
    limits = RecordLimits(max_value, max_record)
    tx = CommittedTransaction(INFO, found)
    records = list(transaction_records(tx, max_changes, limits))
    assert all(len(r.value) <= max_record for r in records)
    for record in records:
        message = serde.decode(record.value)
        if isinstance(message, TransactionMessage):
            for change in message.changes:  # nothing long stayed inline
                for image in (change.before or {}, change.after or {}):
                    for v in image.values():
                        assert not isinstance(v, str) or len(v.encode()) <= max_value
    expected: dict[str, list[RowChange]] = {}
    for change in found:
        expected.setdefault(change.owner, []).append(change)
    assert _rebuild(records) == expected or (not found and _rebuild(records) == {})


def test_small_transactions_are_written_as_before() -> None:
    small = [RowChange(op=Operation.INSERT, owner="HR", table="T", pk=("ID",),
                       after={"ID": str(i), "V": "x" * 50}) for i in range(7)]  # fmt: skip
    tx = CommittedTransaction(INFO, small)
    records = list(transaction_records(tx, 3, RecordLimits()))
    assert [r.value for r in records] == [serde.encode(m) for m in schema_messages(tx, 3)]
    assert [dict(r.headers)["start"] for r in records] == [b"1", b"0", b"0"]
    assert [r.headers[:-1] for r in records] == [serde.headers_for(m)
                                                for m in schema_messages(tx, 3)]  # fmt: skip


def test_a_50_megabyte_value_travels_in_bounded_chunks_before_its_record() -> None:
    doc = ("汉字 text é " * 1000)[:10_000] * 3400  # 51 MB of UTF-8
    change = RowChange(op=Operation.INSERT, owner="HR", table="DOCS", pk=("ID",),
                       after={"ID": "1", "DOC": doc})  # fmt: skip
    records = list(schema_records(INFO, "HR", [change], 1000, RecordLimits()))
    assert len(doc.encode()) > 50_000_000
    assert all(len(r.value) <= 1_000_000 for r in records)
    assert [r.kind for r in records] == ["value_chunk"] * (len(records) - 1) + ["tx"]
    message = serde.decode(records[-1].value)
    assert isinstance(message, TransactionMessage)
    ref = message.changes[0].after and message.changes[0].after["DOC"]
    assert isinstance(ref, ValueRef) and ref.chunks == len(records) - 1
    chunks = [serde.decode(r.value) for r in records[:-1]]
    assert join(ref, chunks) == doc  # type: ignore[arg-type]


def test_many_medium_values_split_the_record_and_a_huge_row_moves_its_values() -> None:
    limits = RecordLimits(4000, 20_000)
    medium = [RowChange(op=Operation.INSERT, owner="HR", table="T", pk=("ID",),
                        after={"ID": str(i), "V": "m" * 3000}) for i in range(20)]  # fmt: skip
    records = list(schema_records(INFO, "HR", medium, 1000, limits))
    assert all(r.kind == "tx" for r in records) and len(records) >= 4  # split, not chunked
    assert all(len(r.value) <= 20_000 for r in records)
    wide = RowChange(op=Operation.INSERT, owner="HR", table="T", pk=("ID",),
                     after={"ID": "1", **{f"C{i}": "w" * 3000 for i in range(12)}})  # fmt: skip
    records = list(schema_records(INFO, "HR", [wide], 1000, limits))
    assert all(len(r.value) <= 20_000 for r in records)
    assert {r.kind for r in records} == {"value_chunk", "tx"}
    assert _rebuild(records) == {"HR": [wide]}


def test_a_row_that_cannot_fit_is_an_error_not_a_truncated_record() -> None:
    limits = RecordLimits(4000, 20_000)
    wide = RowChange(op=Operation.INSERT, owner="HR", table="T", pk=("ID",),
                     after={f"COLUMN_{i}": "v" for i in range(3000)})  # fmt: skip
    with pytest.raises(SinkError, match=r"does not fit publish\.max_record_bytes"):
        list(schema_records(INFO, "HR", [wide], 1000, limits))


def test_settings_keep_room_for_a_chunk_envelope() -> None:
    assert PublishSettings().record_limits() == RecordLimits(256 * 1024, 1_000_000)
    with pytest.raises(ValueError, match="at least 4096 below"):
        PublishSettings(max_value_bytes=1_000_000, max_record_bytes=1_000_000)
