"""The dictionary_change message capture writes to its checkpoint topic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from drcommon import serde
from drcommon.errors import ParseError
from drcommon.model import DictionaryChange, DictionaryRowChange


def _change() -> DictionaryChange:
    return DictionaryChange(
        capture_id="cap", scn=2267707, thread=2, commit_rba="0x00000f.00000239.00bc",
        xid="9.24.598", written_at=datetime(2026, 12, 7, tzinfo=UTC),
        changes=(DictionaryRowChange(table="COL$", op="insert", rowid="AAAAACAAAAAAFQ+AAJ",
                                     values={"OBJ#": "72726", "NAME": "手机", "SCALE": None}),),
    )


def test_round_trip_keeps_null_values_and_names_the_kind() -> None:
    change = _change()
    body = serde.encode(change)
    assert b'"SCALE":null' in body  # a NULL column is a value, not an absent one
    assert serde.decode(body, where="t/0/1") == change
    assert dict(serde.headers_for(change))["kind"] == b"dictionary_change"


def test_an_unknown_operation_is_refused_with_where() -> None:
    body = serde.encode(_change()).replace(b'"insert"', b'"upsert"')
    with pytest.raises(ParseError, match=r"changes\.0\.op.*t/0/7"):
        serde.decode(body, where="t/0/7")
