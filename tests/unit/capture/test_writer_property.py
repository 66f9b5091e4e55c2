"""Random small workloads over every supported type, several RAC threads, log switches,
savepoints and rollbacks: what the capture reader reports is exactly what the
description implies."""

from __future__ import annotations

from drcapture.dictionary.model import Charsets, ColumnDef, OracleType
from drcapture.synth.workload import (
    Col,
    Commit,
    Delete,
    Insert,
    LogSwitch,
    MultiDelete,
    MultiInsert,
    Op,
    Rollback,
    RollbackTo,
    Savepoint,
    Step,
    Supplemental,
    Table,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import build_workload
from drcapture.synth.workload_state import column_def
from drcapture.synth.writer_records import PLATFORMS
from drcapture.values import decode_column, encode_column
from drcapture.values.number import encode_number
from drcommon.model import ColumnValue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.capture.test_writer_workload import assert_same, read_back

T = OracleType
ALL_TYPES = Table(
    "APP",
    "ALL_TYPES",
    71000,
    (
        Col("ID", T.NUMBER),
        Col("N", T.NUMBER),
        Col("BF", T.BINARY_FLOAT),
        Col("BD", T.BINARY_DOUBLE),
        Col("V", T.VARCHAR2, 200),
        Col("C", T.CHAR, 20),
        Col("NV", T.VARCHAR2, 100, charset_form=2),
        Col("NC", T.CHAR, 20, charset_form=2),
        Col("D", T.DATE),
        Col("TS", T.TIMESTAMP, scale=6),
        Col("TZ", T.TIMESTAMP_TZ, scale=3),
        Col("LTZ", T.TIMESTAMP_LTZ, scale=9),
        Col("YM", T.INTERVAL_YM),
        Col("DS", T.INTERVAL_DS, scale=2),
        Col("R", T.RAW, 50),
        Col("RID", T.ROWID),
        Col("B", T.BOOLEAN),
    ),
    pk=("ID",),
)
LONGS = Table(
    "APP",
    "LONGS",
    71001,
    (Col("ID", T.NUMBER), Col("L", T.LONG), Col("LR", T.LONG_RAW)),
    pk=("ID",),
    supplemental=Supplemental.PRIMARY_KEY,
)
TABLES = (ALL_TYPES, LONGS)

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
ANY = st.characters(codec="utf-8", exclude_characters="\x00")


def _stamp(draw: st.DrawFn, *, nanos: bool) -> bytes:
    year = draw(st.integers(1583, 9998))
    body = [year // 100 + 100, year % 100 + 100, draw(st.integers(1, 12)), draw(st.integers(1, 28))]
    body += [draw(st.integers(1, 24)), draw(st.integers(1, 60)), draw(st.integers(1, 60))]
    tail = draw(st.integers(0, 999_999_999)).to_bytes(4, "big") if nanos else b""
    return bytes(body) + tail


@st.composite
def raw_value(draw: st.DrawFn, column: ColumnDef, charsets: Charsets) -> bytes | None:
    """Stored bytes of a value of ``column``'s type (or NULL)."""
    if column.type_code != T.NUMBER and draw(st.integers(0, 5)) == 0:
        return None
    code = column.type_code
    if code == T.NUMBER:
        digits = draw(st.integers(-(10**38) + 1, 10**38 - 1))
        scale = draw(st.integers(-40, 40))
        return encode_number(f"{digits}E{scale}")  # from text: scaleb() rounds to 28 digits
    if code in (T.BINARY_FLOAT, T.BINARY_DOUBLE):
        size = 4 if code == T.BINARY_FLOAT else 8
        raw = draw(st.binary(min_size=size, max_size=size))
        value = decode_column(raw, column, charsets)
        assert isinstance(value, str)
        return encode_column(value, column, charsets)  # NaN payloads made canonical
    if code in (T.VARCHAR2, T.CHAR, T.LONG):
        name = charsets.national if column.charset_form == 2 else charsets.database
        alphabet = st.one_of(ASCII, CJK) if name == "ZHS16GBK" else st.one_of(ASCII, CJK, ANY)
        text = draw(st.text(alphabet, min_size=1, max_size=12))
        return encode_column(text, column, charsets)
    if code == T.DATE:
        return _stamp(draw, nanos=False)
    if code in (T.TIMESTAMP, T.TIMESTAMP_LTZ):
        return _stamp(draw, nanos=True)
    if code == T.TIMESTAMP_TZ:
        offset = draw(st.integers(-12 * 60, 14 * 60))
        sign = -1 if offset < 0 else 1
        hours, minutes = divmod(abs(offset), 60)
        return _stamp(draw, nanos=True) + bytes([sign * hours + 20, sign * minutes + 60])
    if code == T.INTERVAL_YM:
        sign = draw(st.sampled_from([-1, 1]))
        years, months = draw(st.integers(0, 10**6)), draw(st.integers(0, 11))
        return (0x80000000 + sign * years).to_bytes(4, "big") + bytes([60 + sign * months])
    if code == T.INTERVAL_DS:
        sign = draw(st.sampled_from([-1, 1]))
        days, secs = draw(st.integers(0, 10**6)), draw(st.integers(0, 86399))
        h, m, s = secs // 3600, secs // 60 % 60, secs % 60
        nanos = draw(st.integers(0, 999_999_999))
        return (
            (0x80000000 + sign * days).to_bytes(4, "big")
            + bytes([60 + sign * h, 60 + sign * m, 60 + sign * s])
            + (0x80000000 + sign * nanos).to_bytes(4, "big")
        )
    if code in (T.RAW, T.LONG_RAW):
        return draw(st.binary(min_size=1, max_size=30))
    if code == T.ROWID:
        return draw(st.binary(min_size=10, max_size=10))
    assert code == T.BOOLEAN
    return draw(st.sampled_from([b"\x00", b"\x01"]))


@st.composite
def values_of(
    draw: st.DrawFn, table: Table, charsets: Charsets, key: int
) -> dict[str, ColumnValue]:
    out: dict[str, ColumnValue] = {"ID": str(key)}
    for index, col in enumerate(table.columns[1:], start=1):
        column = column_def(table, index)
        out[col.name] = decode_column(draw(raw_value(column, charsets)), column, charsets)
    return out


@st.composite
def transaction_ops(draw: st.DrawFn, table: Table, charsets: Charsets, first_key: int) -> list[Op]:
    """One transaction's operations on rows it inserts itself, then its end."""
    keys = iter(range(first_key, first_key + 100))
    own: list[int] = []
    ops: list[Op] = []
    savepoints: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["ins", "upd", "upd", "del", "multi", "mdel", "sp", "rb"]))
        if kind == "ins" or (not own and kind in ("upd", "del", "mdel")):
            own.append(next(keys))
            ops.append(Insert(table.name, row(draw(values_of(table, charsets, own[-1])))))
        elif kind == "upd":
            key = draw(st.sampled_from(own))
            new = draw(values_of(table, charsets, key))
            names = draw(
                st.lists(
                    st.sampled_from(table.column_names()[1:]), min_size=1, max_size=3, unique=True
                )
            )
            ops.append(Update(table.name, row(ID=str(key)), row({n: new[n] for n in names})))
        elif kind == "del":
            key = own.pop(draw(st.integers(0, len(own) - 1)))
            ops.append(Delete(table.name, row(ID=str(key))))
        elif kind == "multi":
            fresh = [next(keys) for _ in range(draw(st.integers(1, 4)))]
            own.extend(fresh)
            rows = tuple(row(draw(values_of(table, charsets, k))) for k in fresh)
            ops.append(MultiInsert(table.name, rows))
        elif kind == "mdel":
            gone = draw(st.lists(st.sampled_from(own), min_size=1, max_size=3, unique=True))
            own = [k for k in own if k not in gone]
            ops.append(MultiDelete(table.name, tuple(row(ID=str(k)) for k in gone)))
        elif kind == "sp":
            savepoints.append(f"s{len(savepoints)}")
            ops.append(Savepoint(savepoints[-1]))
        elif savepoints:
            ops.append(RollbackTo(savepoints.pop()))
            own = []  # rows touched after the savepoint may be gone; stop using any
    ends: list[Op] = [Commit(), Commit(), Commit(), Rollback()]
    end = draw(st.sampled_from(ends))
    return [*ops, end]


CHARSET_PAIRS = [
    Charsets("AL32UTF8", "AL16UTF16"),
    Charsets("ZHS16GBK", "AL16UTF16"),
    Charsets("ZHS32GB18030", "UTF8"),
]


@st.composite
def workloads(draw: st.DrawFn) -> Workload:
    """1-3 threads, 1-5 interleaved transactions, log switches anywhere."""
    charsets = draw(st.sampled_from(CHARSET_PAIRS))
    threads = draw(st.integers(1, 3))
    plans: list[list[Step]] = []
    for t in range(draw(st.integers(1, 5))):
        thread = draw(st.integers(1, threads))
        ops = draw(transaction_ops(draw(st.sampled_from(TABLES)), charsets, 1 + 100 * t))
        plans.append([Step(thread, f"x{t}", op) for op in ops])
    steps: list[Step] = []
    while any(plans):  # interleave, keeping each transaction's own order
        step = draw(st.sampled_from([p for p in plans if p])).pop(0)
        steps.append(step)
        if draw(st.integers(0, 6)) == 0:
            steps.append(Step(step.thread, "-", LogSwitch()))
    return Workload(
        tables=TABLES,
        steps=tuple(steps),
        charsets=charsets,
        platform=PLATFORMS[draw(st.sampled_from(sorted(PLATFORMS)))],
        block_size=draw(st.sampled_from([512, 1024, 4096])),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_random_workloads_read_back_exactly(workload: Workload) -> None:
    built = build_workload(workload)
    assert_same(built, read_back(built))
