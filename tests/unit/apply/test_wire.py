"""The fast transaction reader agrees with drcommon.serde on everything it reads, and
hands everything else to serde (None)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from drapply.wire import decode_transaction
from drcommon import serde
from drcommon.model import (
    ColumnInfo,
    InvalidText,
    Operation,
    RowChange,
    SourcePosition,
    TransactionInfo,
    TransactionMessage,
    Unsupported,
)
from hypothesis import given
from hypothesis import strategies as st

INFO = TransactionInfo(
    xid="1.2.3",
    commit_scn=99,
    commit_ts=datetime(2024, 5, 1, 8, tzinfo=UTC),
    thread=2,
    commit_rba="0x1.2.3",
    changes_total=3,
    schemas=("HR",),
)
POSITION = SourcePosition(db_id=1, db_name="ORCL", thread=2, sequence=7, rba="0x7.10.4", scn=98)

values = st.one_of(
    st.none(),
    st.text(),
    st.builds(InvalidText, hex=st.text("0123456789ABCDEF"), charset=st.sampled_from(["AL32UTF8"])),
    st.builds(Unsupported, oracle_type=st.sampled_from(["BLOB", "XMLTYPE"])),
)
images = st.one_of(st.none(), st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5))


def message(*changes: RowChange) -> TransactionMessage:
    return TransactionMessage(schema_name="HR", tx=INFO, changes_in_schema=len(changes),
                              chunk=1, last=False, changes=changes)  # fmt: skip


@given(
    st.lists(
        st.builds(
            RowChange,
            op=st.sampled_from(list(Operation)),
            owner=st.just("HR"),
            table=st.text(min_size=1, max_size=10),
            obj=st.one_of(st.none(), st.integers(0, 2**31)),
            pk=st.lists(st.text(min_size=1, max_size=5), max_size=2).map(tuple),
            before=images,
            after=images,
            columns=st.dictionaries(
                st.text(min_size=1, max_size=8),
                st.builds(
                    ColumnInfo,
                    type=st.sampled_from(["NUMBER", "DATE", "RAW"]),
                    scale=st.one_of(st.none(), st.integers(0, 9)),
                ),
                max_size=3,
            ),
            ddl=st.one_of(st.none(), st.text(max_size=20)),
            position=st.one_of(st.none(), st.just(POSITION)),
            row_id=st.one_of(st.none(), st.text(max_size=18)),
        ),
        max_size=4,
    )
)
def test_fast_reader_equals_serde(changes: list[RowChange]) -> None:
    data = serde.encode(message(*changes))
    fast = decode_transaction(data)
    assert fast is not None
    assert fast == serde.decode(data) == message(*changes)
    assert serde.encode(fast) == data


def _doc(**change: object) -> bytes:
    base = orjson.loads(serde.encode(message(RowChange(op=Operation.INSERT, owner="HR", table="T",
                                                       after={"A": "1"}))))  # fmt: skip
    base["changes"][0].update(change)
    return orjson.dumps(base)


def test_anything_unusual_goes_to_serde() -> None:
    assert decode_transaction(_doc()) is not None
    assert decode_transaction(_doc(after={"A": 1})) is None  # a number, not an exact string
    assert decode_transaction(_doc(surprise=True)) is None
    assert decode_transaction(_doc(op="merge")) is None
    assert decode_transaction(_doc(columns={"A": {"type": "NUMBER", "bogus": 1}})) is None
    assert decode_transaction(_doc(position={"scn": "x"})) is None
    assert decode_transaction(b"{not json") is None
    assert decode_transaction(orjson.dumps({"v": 2, "kind": "tx", "changes": []})) is None
    watermark = orjson.dumps({"v": 1, "kind": "watermark", "schema": "HR", "scn": 5,
                              "emitted_at": "2024-01-01T00:00:00+00:00"})  # fmt: skip
    assert decode_transaction(watermark) is None
