"""The core's serialiser against capture's Python publisher on generated transactions:
for any transaction of the event model and any limits, ``native.transaction_records``
gives exactly the records ``drcapture.publish.transaction_records`` gives (schema, body
bytes, headers, kind, order) or the same error (class, message, facts).

The transactions hold every value kind (text with JSON's special characters, CJK and
astral characters, empty strings, ``InvalidText``, ``Unsupported``, ``NotLogged``,
``LobWrites``), values over the chunk limit, more changes than ``max_changes``, several
schemas, DDL and undecoded changes, positions and row ids, commit times in every form
``datetime`` allows; the limits go from the production ones down to limits too small to
cut a value with (where the Python functions raise ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from drcapture import native
from drcapture.publish import CommittedTransaction, transaction_records
from drcapture.publish_records import OutRecord, RecordLimits
from drcapture.redo.txn.changes import rowid
from drcommon import serde
from drcommon.errors import DRError
from drcommon.model import (
    ColumnInfo,
    InvalidText,
    LobWrite,
    LobWrites,
    NotLogged,
    Operation,
    RowChange,
    SourcePosition,
    TransactionInfo,
    TransactionMessage,
    Unsupported,
    ValueRef,
)
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

U64 = 2**64 - 1
# Characters JSON writers treat differently, and the ones capture's text is made of.
SPECIAL = '"\\/\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\x80\u2028\u2029\ufeff\ufffféß汉字😀𝄞'


def outcome(run: Callable[[], list[OutRecord]]) -> tuple[Any, ...]:
    """What a call gave: its records, or its error (class, message, facts)."""
    try:
        return ("ok", run())
    except DRError as exc:
        return ("error", type(exc).__name__, exc.message, dict(exc.where))
    except ValueError as exc:
        return ("error", "ValueError", str(exc))


def check_same(tx: CommittedTransaction, max_changes: int, limits: RecordLimits) -> list[OutRecord]:
    """The core's records are the publisher's; returns them."""
    want = outcome(lambda: list(transaction_records(tx, max_changes, limits)))
    got = outcome(lambda: native.transaction_records(tx, max_changes, limits))
    _events(want, limits)
    if want != got and want[0] == got[0] == "ok":
        assert len(got[1]) == len(want[1])
        for mine, theirs in zip(got[1], want[1], strict=True):
            assert mine.headers == theirs.headers
            assert mine.value.decode() == theirs.value.decode()
    assert got == want
    return list(want[1]) if want[0] == "ok" else []


def _events(result: tuple[Any, ...], limits: RecordLimits) -> None:
    """What an example exercised (``--hypothesis-show-statistics``)."""
    if not currently_in_test_context():
        return
    if result[0] == "error":
        event(f"error: {result[1]}")
        return
    records: list[OutRecord] = result[1]
    event("value chunks" if any(r.kind == "value_chunk" for r in records) else "inline only")
    last = [orjson.loads(r.value)["last"] for r in records if r.kind == "tx"]
    event(f"tx records per schema share: {'1' if all(last) else 'several'}")
    if any(b'"kind":"value_ref"' in r.value and _shrunk(r.value, limits) for r in records):
        event("a change shrunk (values under max_value_bytes moved)")


def _shrunk(body: bytes, limits: RecordLimits) -> bool:
    for change in orjson.loads(body)["changes"]:
        for image in (change.get("before") or {}, change.get("after") or {}):
            for v in image.values():
                if (isinstance(v, dict) and v["kind"] == "value_ref"
                        and v["length"] <= limits.max_value_bytes):
                    return True
    return False


# --- strategies -----------------------------------------------------------------------

texts = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL)), max_size=12)
long_texts = st.builds(lambda unit, n: unit * n, st.text(st.sampled_from(SPECIAL + "ab"),
                                                         min_size=1, max_size=4),
                       st.integers(0, 2500))
hexes = st.one_of(st.binary(max_size=8).map(lambda b: b.hex().upper()),
                  st.integers(0, 3000).map(lambda n: "AB" * n))
names = st.one_of(st.sampled_from(["ID", "NAME", "DOC", "COL 3", "", 'Q"UOTE', "名字"]), texts)
types = st.sampled_from(["VARCHAR2", "NUMBER", "CLOB", "NCLOB", "BLOB", "UNKNOWN", "XMLTYPE"])

values = st.one_of(
    st.none(),
    texts,
    long_texts,
    hexes,
    st.builds(InvalidText, hex=hexes, charset=st.sampled_from(["AL32UTF8", "ZHS16GBK"])),
    st.builds(Unsupported, oracle_type=types, hex=st.one_of(st.none(), hexes)),
    st.builds(NotLogged, oracle_type=types, reason=texts),
    st.builds(LobWrites, oracle_type=types, length=st.one_of(st.none(), st.integers(0, U64)),
              writes=st.lists(st.builds(LobWrite, offset=st.integers(0, U64),
                                        data=st.one_of(texts, long_texts, hexes)),
                              max_size=3).map(tuple)),
)
images = st.one_of(st.none(), st.dictionaries(names, values, max_size=5))
column_infos = st.builds(
    ColumnInfo, type=types, length=st.one_of(st.none(), st.integers(0, U64)),
    precision=st.one_of(st.none(), st.integers(0, 38)),
    scale=st.one_of(st.none(), st.integers(-84, 127)), nullable=st.booleans(),
    charset=st.one_of(st.none(), st.sampled_from(["AL32UTF8", "AL16UTF16"]), texts),
)
positions = st.one_of(st.none(), st.builds(
    SourcePosition, db_id=st.integers(0, U64), db_name=texts,
    con_id=st.one_of(st.none(), st.integers(0, U64)), thread=st.integers(0, U64),
    sequence=st.integers(0, U64), rba=texts, scn=st.integers(0, U64),
    sub_scn=st.integers(0, U64),
))
optional_texts = st.one_of(st.none(), texts)
changes = st.builds(
    RowChange,
    op=st.sampled_from(Operation),
    owner=st.sampled_from(["HR", "SALES", "汉字", 'S"\\Q', ""]),
    table=st.one_of(st.sampled_from(["DOCS", "OBJ# 72726"]), texts),
    obj=st.one_of(st.none(), st.integers(0, U64)),
    pk=st.lists(names, max_size=2).map(tuple),
    before=images,
    after=images,
    columns=st.dictionaries(names, column_infos, max_size=4),
    ddl=st.one_of(st.none(), texts, long_texts),
    position=positions,
    row_id=optional_texts,
    undecoded=optional_texts,
)
zones = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(-86_399_999_999, 86_399_999_999).map(
        lambda us: timezone(timedelta(microseconds=us))),
    st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("America/St_Johns"),
                     ZoneInfo("Europe/Amsterdam")]),
)
moments = st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=zones)
infos = st.builds(
    TransactionInfo, xid=texts, commit_scn=st.integers(0, U64), commit_ts=moments,
    thread=st.integers(0, U64), commit_rba=texts,
    start_scn=st.one_of(st.none(), st.integers(0, U64)), changes_total=st.integers(0, U64),
    schemas=st.lists(texts, max_size=3).map(tuple),
)
# The settings' rules (max_value_bytes >= 1024, 4096 below max_record_bytes) and, beside
# them, any small limits: splits, shrinking, errors.
limits = st.one_of(
    st.builds(lambda v, extra: RecordLimits(v, v + 4096 + extra), st.integers(1024, 6000),
              st.integers(0, 12_000)),
    st.builds(RecordLimits, st.integers(0, 3000), st.integers(0, 9000)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(infos, st.lists(changes, max_size=14), st.integers(1, 6), limits)
def test_any_transaction_gives_the_same_records(
    info: TransactionInfo, found: list[RowChange], max_changes: int, limits: RecordLimits
) -> None:
    check_same(CommittedTransaction(info, found), max_changes, limits)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(infos, st.lists(changes, min_size=1, max_size=10), st.integers(1, 4),
       st.builds(lambda v, extra: RecordLimits(v, v + 4096 + extra), st.integers(1024, 3000),
                 st.integers(0, 3000)))
def test_transactions_under_production_rules_give_the_same_records(
    info: TransactionInfo, found: list[RowChange], max_changes: int, limits: RecordLimits
) -> None:
    """Under the settings' rules an error can only be a change too wide to fit."""
    records = outcome(lambda: check_same(CommittedTransaction(info, found), max_changes, limits))
    assert records[0] == "ok" or records[1] == "SinkError"


medium_texts = st.builds(lambda unit, n: unit * n,
                         st.sampled_from(["m", "é", "汉", "😀", "\x01", 'ab"']),
                         st.integers(60, 1100))
wide_changes = st.builds(
    RowChange, op=st.just(Operation.UPDATE), owner=st.sampled_from(["HR", "SALES"]),
    table=st.just("WIDE"), pk=st.just(("ID",)),
    before=st.dictionaries(names, st.one_of(medium_texts, values), max_size=12),
    after=st.dictionaries(st.integers(0, 99).map(lambda i: f"C{i}"),
                          st.one_of(medium_texts, medium_texts, medium_texts, values),
                          min_size=6, max_size=30),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(infos, st.lists(st.one_of(wide_changes, changes), min_size=1, max_size=6),
       st.integers(1, 4),
       st.builds(lambda v, extra: RecordLimits(v, v + 4096 + extra), st.integers(1024, 2048),
                 st.integers(0, 3000)))
def test_wide_rows_shrink_the_same_way(
    info: TransactionInfo, found: list[RowChange], max_changes: int, limits: RecordLimits
) -> None:
    """Rows wider than a record: their longest values move out, longest first, until
    the change fits, or the same error."""
    check_same(CommittedTransaction(info, found), max_changes, limits)


@settings(max_examples=2000, deadline=None)
@given(st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL))))
def test_strings_are_escaped_as_orjson_escapes_them(text: str) -> None:
    assert native.wire_json_string(text) == orjson.dumps(text)


def test_every_character_below_0x800_and_the_astral_planes_escape_as_orjson() -> None:
    chars = [chr(c) for c in range(0x800)] + [chr(c) for c in range(0x10000, 0x10FFFF, 4099)]
    chars += [chr(c) for c in range(0xE000, 0x10000, 61)]
    for c in chars:
        assert native.wire_json_string(c) == orjson.dumps(c)
    joined = "".join(chars)
    assert native.wire_json_string(joined) == orjson.dumps(joined)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1))
def test_row_ids_from_their_numbers(data_obj: int, bdba: int, slot: int) -> None:
    assert native.wire_rowid(data_obj, bdba, slot) == rowid(data_obj, bdba, slot)


# --- each path once, by example ----------------------------------------------------------

INFO = TransactionInfo(
    xid="0x0005.001.00000042", commit_scn=4242, commit_ts=datetime(2024, 5, 1, tzinfo=UTC),
    thread=1, commit_rba="0x1.2.3", changes_total=3, schemas=("HR", "SALES"),
)  # fmt: skip


def _insert(owner: str, ident: int, **values: Any) -> RowChange:
    return RowChange(op=Operation.INSERT, owner=owner, table="DOCS", pk=("ID",),
                     after={"ID": str(ident), **values},
                     columns={"ID": ColumnInfo(type="NUMBER", precision=10, scale=0,
                                               nullable=False)})  # fmt: skip


def _kinds(records: list[OutRecord]) -> list[tuple[str, str]]:
    return [(r.schema, r.kind) for r in records]


def test_small_transactions_take_the_fast_path() -> None:
    found = [_insert("HR" if i % 3 else "SALES", i, V="x" * 50) for i in range(7)]
    records = check_same(CommittedTransaction(INFO, found), 2, RecordLimits())
    assert _kinds(records) == [("SALES", "tx")] * 2 + [("HR", "tx")] * 2
    assert [dict(r.headers)["start"] for r in records] == [b"1", b"0", b"1", b"0"]


def test_a_five_megabyte_value_travels_in_chunks_before_its_record() -> None:
    doc = ("汉字 text é \"q\" \\ \x01 😀 " * 400)[:9_000] * 450
    found = [_insert("HR", 1, DOC=doc, NOTE=None), _insert("HR", 2, DOC="short")]
    records = check_same(CommittedTransaction(INFO, found), 1000, RecordLimits())
    assert len(doc.encode()) > 5_000_000
    kinds = [r.kind for r in records]
    assert kinds == ["value_chunk"] * (len(records) - 1) + ["tx"] and len(records) > 5


def test_many_medium_values_split_the_record_and_a_wide_row_moves_its_values() -> None:
    limits = RecordLimits(4000, 20_000)
    medium = [_insert("HR", i, V="m" * 3000) for i in range(20)]
    assert all(r.kind == "tx" for r in check_same(CommittedTransaction(INFO, medium), 1000,
                                                  limits))
    wide = [_insert("HR", 1, **{f"C{i}": "w" * (300 + 50 * i) for i in range(60)})]
    records = check_same(CommittedTransaction(INFO, wide), 1000, limits)
    assert {r.kind for r in records} == {"value_chunk", "tx"}


def test_value_objects_move_as_json_documents() -> None:
    found = [_insert("HR", 1, BAD=InvalidText(hex="FF" * 3000, charset="AL32UTF8"),
                     ODD=Unsupported(oracle_type="XMLTYPE", hex="AB" * 2000),
                     LOB=LobWrites(oracle_type="CLOB", length=9,
                                   writes=(LobWrite(offset=0, data="é" * 3000),
                                           LobWrite(offset=7, data="short"))))]  # fmt: skip
    records = check_same(CommittedTransaction(INFO, found), 10, RecordLimits(1024, 6000))
    tx = serde.decode(records[-1].value)
    assert isinstance(tx, TransactionMessage) and tx.changes[0].after is not None
    refs = [v for v in tx.changes[0].after.values() if isinstance(v, ValueRef)]
    assert [r.form for r in refs] == ["json", "json"]


def test_a_row_too_wide_even_without_its_long_values_is_the_same_sink_error() -> None:
    tx = CommittedTransaction(INFO, [_insert("SALES", 1, **{f"C{i}": "n" * 200
                                                           for i in range(40)})])
    got = outcome(lambda: native.transaction_records(tx, 10, RecordLimits(1024, 6000)))
    assert got == outcome(lambda: list(transaction_records(tx, 10, RecordLimits(1024, 6000))))
    assert got[:3] == ("error", "SinkError", "a row change does not fit "
                       "publish.max_record_bytes even with its long values moved to "
                       "value_chunk records")


@pytest.mark.parametrize("limits", [RecordLimits(3, 100_000), RecordLimits(1024, 150)])
def test_limits_too_small_to_cut_with_are_the_same_value_error(limits: RecordLimits) -> None:
    found = [_insert("HR", 1, DOC="\x01" * 5000)]
    python = outcome(lambda: list(transaction_records(CommittedTransaction(INFO, found), 10,
                                                      limits)))
    assert python[:2] == ("error", "ValueError")
    check_same(CommittedTransaction(INFO, found), 10, limits)


def test_max_changes_zero_is_the_same_value_error() -> None:
    tx = CommittedTransaction(INFO, [_insert("HR", 1)])
    assert outcome(lambda: native.transaction_records(tx, 0, RecordLimits())) == (
        outcome(lambda: list(transaction_records(tx, 0, RecordLimits()))))
    assert native.transaction_records(CommittedTransaction(INFO, []), 0, RecordLimits()) == []


def test_every_record_carries_the_transactions_key() -> None:
    tx = CommittedTransaction(INFO, [_insert("HR", 1)])
    built = native.WireBuilder().transaction(tx.info, tx.changes)
    assert built.key == INFO.xid.encode() and built.changes == 1


def test_commit_times_in_every_form() -> None:
    """pydantic's JSON mode in the body (``Z``, offsets without their seconds), Python's
    ``isoformat`` in the header."""
    for zone in (None, UTC, ZoneInfo("Asia/Kolkata"), timezone(timedelta(seconds=-59)),
                 timezone(timedelta(hours=5, minutes=30, seconds=15, microseconds=7))):
        moment = datetime(987, 6, 5, 4, 3, 2, 10, tzinfo=zone)
        info = INFO.model_copy(update={"commit_ts": moment})
        records = check_same(CommittedTransaction(info, [_insert("HR", 1)]), 5, RecordLimits())
        assert dict(records[0].headers)["commit_ts"] == moment.isoformat().encode()


def test_odd_offsets_are_written_as_pydantic_writes_them_though_unreadable() -> None:
    """An inconsistency of the Python side, kept byte for byte: pydantic's JSON mode
    writes a commit time's UTC offset rounded to whole seconds and then without them, so
    ``+05:30:15`` comes back as ``+05:30`` and an offset that rounds to a whole day is
    written ``+24:00``, which pydantic itself refuses to read. Capture never meets it:
    the pipeline turns every commit time into UTC (``pipeline._aware``)."""
    lossy = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30, seconds=15)))
    day = datetime(2000, 1, 1, tzinfo=timezone(timedelta(seconds=86399, microseconds=500000)))
    for moment in (lossy, day):
        info = INFO.model_copy(update={"commit_ts": moment})
        records = check_same(CommittedTransaction(info, [_insert("HR", 1)]), 5, RecordLimits())
        body = orjson.loads(records[0].value)
        assert body["tx"]["commit_ts"] != moment.isoformat()
    assert body["tx"]["commit_ts"] == "2000-01-01T00:00:00+24:00"
    with pytest.raises(DRError, match="commit_ts"):
        serde.decode(records[0].value)


def test_shapes_are_shared_by_the_changes_of_a_table() -> None:
    builder = native.WireBuilder()
    builder.transaction(INFO, [_insert("HR", i, V="v") for i in range(50)])
    builder.transaction(INFO, [_insert("HR", i, V="v") for i in range(50, 60)])
    assert builder.shapes == 1


def test_text_no_decoder_can_make_is_refused_by_both() -> None:
    """A lone surrogate: Python's strict decoders never produce one, a Rust ``str``
    cannot hold one, and orjson refuses to write one."""
    tx = CommittedTransaction(INFO, [_insert("HR", 1, V="a\ud800b")])
    with pytest.raises(TypeError, match="surrogates not allowed"):
        list(transaction_records(tx, 5, RecordLimits()))
    with pytest.raises(UnicodeEncodeError):
        native.transaction_records(tx, 5, RecordLimits())


def test_a_value_ref_in_a_change_to_publish_is_refused() -> None:
    """Only the serialiser makes references; one in the input would dangle (the Python
    publisher would write it without chunks)."""
    ref = ValueRef(id="0", length=1, chunks=1, sha256="0" * 64)
    tx = CommittedTransaction(INFO, [_insert("HR", 1, V=ref)])
    with pytest.raises(ValueError, match="value_ref is made by the serialiser"):
        native.transaction_records(tx, 5, RecordLimits())
