"""LOB values and in-place LOB writes, without a database: the reference semantics, the
statements and binds each target uses (PostgreSQL overlay updates, the Oracle PL/SQL
block and LOB binds), and how the planner turns LobWrites into edits."""

from __future__ import annotations

import oracledb
import pytest
from drapply.adapters.oracle import LobBind, lob_binds, oracle_lob_block
from drapply.adapters.postgresql import pg_converter, pg_lob_steps, pg_type
from drapply.adapters.sqlbase import LobRowKey, lob_row_key
from drapply.errors import ValueNotStorable
from drapply.lobs import LobEdit, LobKind, edited, lob_edit
from drapply.naming import Naming, TableRef
from drapply.plan import Planner
from drapply.settings import IdentifierCase, RenameSettings, SourceSettings, TargetKind
from drapply.typemap import Family, as_text, classify, hex_bytes
from drcommon.model import ColumnInfo, LobWrite, LobWrites, Operation, RowChange, ValueRef
from hypothesis import given
from hypothesis import strategies as st

REF = TableRef("hr", "docs")
KEY = LobRowKey(("id",), (7,), False)


def clob(*writes: tuple[int, str], length: int | None = None) -> LobEdit:
    return LobEdit("doc", LobKind.CLOB, tuple(writes), length)


def blob(*writes: tuple[int, bytes], length: int | None = None) -> LobEdit:
    return LobEdit("bin", LobKind.BLOB, tuple(writes), length)


def test_writes_overwrite_extend_and_pad_like_dbms_lob() -> None:
    assert edited("hello world", clob((6, "WORLD"))) == "hello WORLD"
    assert edited("hello", clob((3, "LO!!"))) == "helLO!!"  # runs past the end: extends
    assert edited("ab", clob((5, "X"))) == "ab   X"  # starts past the end: spaces first
    assert edited(b"ab", blob((4, b"\xff"))) == b"ab\x00\x00\xff"  # zero bytes for BLOB
    assert edited(None, clob((2, "汉字"))) == "  汉字"  # NULL is the empty LOB
    assert edited("abcdef", clob((0, "X"), (1, "YZ"), length=4)) == "XYZd"  # then TRIM
    assert edited("ab", clob(length=4)) == "ab  " and edited(b"", blob(length=2)) == b"\0\0"
    assert edited("abc", clob((10, ""))) == "abc" + " " * 7  # no data still pads
    assert edited("abc", clob()) == "abc"
    with pytest.raises(ValueNotStorable, match="holds text"):
        edited("text", blob((0, b"x")))


lob_text = st.text(alphabet="ab汉😀 ", max_size=20)
text_edits = st.builds(
    lambda writes, length: clob(*writes, length=length),
    st.lists(st.tuples(st.integers(0, 30), lob_text), max_size=4),
    st.one_of(st.none(), st.integers(0, 40)),
)


@given(st.one_of(st.none(), lob_text), text_edits)
def test_an_edit_applied_to_its_own_result_changes_nothing(
    value: str | None, edit: LobEdit
) -> None:
    once = edited(value, edit)
    assert edited(once, edit) == once
    if edit.length is not None:
        assert len(once) == edit.length


def test_postgres_statements_pad_overlay_and_resize() -> None:
    steps = pg_lob_steps(REF, clob((0, "ab"), (9, "汉"), length=12), KEY)
    write = (
        'UPDATE "hr"."docs" SET "doc" = overlay(rpad(coalesce("doc", \'\'), '
        'greatest(length(coalesce("doc", \'\')), %s::int)) placing %s::text from %s::int) '
        'WHERE "id" = %s'
    )
    assert steps == [
        (write, (0, "ab", 1, 7)),
        (write, (9, "汉", 10, 7)),
        ('UPDATE "hr"."docs" SET "doc" = rpad(coalesce("doc", \'\'), %s::int) WHERE "id" = %s',
         (12, 7)),
    ]  # fmt: skip
    padded = (
        "(coalesce(\"bin\", ''::bytea) || decode(repeat('00', greatest(%s::int - "
        "length(coalesce(\"bin\", ''::bytea)), 0)), 'hex'))"
    )
    assert pg_lob_steps(REF, blob(), KEY) == [
        ('UPDATE "hr"."docs" SET "bin" = coalesce("bin", \'\'::bytea) WHERE "id" = %s', (7,))
    ]  # no writes: a NULL still becomes empty
    steps = pg_lob_steps(REF, blob((3, b"\x01"), length=2), LobRowKey(("a", "b"), (1, None), True))
    where = ' WHERE "a" IS NOT DISTINCT FROM %s AND "b" IS NOT DISTINCT FROM %s'
    assert steps == [
        (f'UPDATE "hr"."docs" SET "bin" = overlay({padded} placing %s::bytea from %s::int)'
         + where, (3, b"\x01", 4, 1, None)),
        (f'UPDATE "hr"."docs" SET "bin" = substring({padded} from 1 for %s::int)' + where,
         (2, 2, 1, None)),
    ]  # fmt: skip


def test_oracle_block_copies_into_the_locked_locator() -> None:
    sql, params, sizes = oracle_lob_block(
        REF, LobEdit("DOC", LobKind.NCLOB, ((4, "汉字"), (20, "")), 30), KEY
    )
    assert sql.splitlines() == [
        "DECLARE l NCLOB; n INTEGER;",
        "BEGIN",
        'UPDATE "hr"."docs" SET "DOC" = EMPTY_CLOB() WHERE "id" = :k0 AND "DOC" IS NULL;',
        'SELECT "DOC" INTO l FROM "hr"."docs" WHERE "id" = :k0 FOR UPDATE;',
        "DBMS_LOB.COPY(l, :d0, DBMS_LOB.GETLENGTH(:d0), :o0, 1);",
        "n := :o1;",
        "IF DBMS_LOB.GETLENGTH(l) < n THEN DBMS_LOB.WRITE(l, 1, n, ' '); END IF;",
        "n := :new_length;",
        "IF DBMS_LOB.GETLENGTH(l) > n THEN DBMS_LOB.TRIM(l, n);",
        "ELSIF DBMS_LOB.GETLENGTH(l) < n THEN DBMS_LOB.WRITE(l, 1, n, ' ');",
        "END IF;",
        "END;",
    ]
    assert params == {"k0": 7, "d0": "汉字", "o0": 5, "o1": 20, "new_length": 30}
    assert sizes == {"d0": oracledb.DB_TYPE_NCLOB}  # the data binds as a temporary LOB
    sql, params, sizes = oracle_lob_block(
        REF, LobEdit("B", LobKind.BLOB, ((0, b"\x00" * 40000),), None),
        LobRowKey(("id",), (LobBind(1, None),), True),
    )  # fmt: skip
    assert "EMPTY_BLOB()" in sql and "DECODE(\"id\", :k0, 1, 0) = 1" in sql
    assert "TRIM" not in sql and params["k0"] == 1 and sizes == {"d0": oracledb.DB_TYPE_BLOB}


def test_oracle_binds_lobs_as_lobs_only_when_they_do_not_fit_inline() -> None:
    clob_type, blob_type = oracledb.DB_TYPE_CLOB, oracledb.DB_TYPE_BLOB
    small = [[1, LobBind("short", clob_type), LobBind(b"\x01", blob_type)]]
    assert lob_binds(small) == (None, [[1, "short", b"\x01"]])  # the fast plain binding
    long_text = "汉" * 1400  # 1,400 characters, 4,200 bytes: too long for VARCHAR2 in SQL
    rows = [
        [1, LobBind("short", oracledb.DB_TYPE_CLOB), LobBind(None, oracledb.DB_TYPE_BLOB)],
        [2, LobBind(long_text, oracledb.DB_TYPE_CLOB), LobBind(b"\x00" * 2001,
                                                             oracledb.DB_TYPE_BLOB)],
    ]  # fmt: skip
    sizes, plain = lob_binds(rows)
    assert sizes == [None, oracledb.DB_TYPE_CLOB, oracledb.DB_TYPE_BLOB]
    assert plain == [[1, "short", None], [2, long_text, b"\x00" * 2001]]
    assert lob_binds([[LobBind("x" * 4000, oracledb.DB_TYPE_CLOB)]])[0] is None  # 4,000 fit


@pytest.mark.parametrize(
    ("oracle", "family", "pg", "convert"),
    [("CLOB", Family.CLOB, "text", as_text), ("NCLOB", Family.NCLOB, "text", as_text),
     ("BLOB", Family.BLOB, "bytea", hex_bytes), ("LONG", Family.TEXT, "text", as_text)],
)  # fmt: skip
def test_lob_types_map_to_text_and_bytea(
    oracle: str, family: Family, pg: str, convert: object
) -> None:
    column = classify(ColumnInfo(type=oracle))
    assert column.family is family
    assert pg_type(column, False) == pg and pg_converter(column, False) is convert


def _planner() -> Planner:
    naming = Naming(RenameSettings(), IdentifierCase.AUTO, TargetKind.POSTGRESQL)
    return Planner(naming, lambda info: hex_bytes if info and info.type == "BLOB" else as_text,
                   SourceSettings())  # fmt: skip


COLUMNS = {"ID": ColumnInfo(type="NUMBER"), "DOC": ColumnInfo(type="CLOB"),
           "BIN": ColumnInfo(type="BLOB"), "NOTE": ColumnInfo(type="VARCHAR2")}  # fmt: skip


def _update(after: dict[str, object], before: dict[str, object] | None = None) -> RowChange:
    return RowChange.model_validate(
        {"op": "update", "owner": "HR", "table": "DOCS", "pk": ("ID",),
         "before": before or {"ID": "7"}, "after": after, "columns": COLUMNS}
    )  # fmt: skip


def test_the_planner_turns_lob_writes_into_edits() -> None:
    planner = _planner()
    writes = LobWrites(oracle_type="CLOB", writes=(LobWrite(offset=2, data="汉"),), length=9)
    bound = planner.bind(_update({"DOC": writes, "NOTE": "n"}, {"ID": "7", "DOC": "old"}))
    assert bound.set_cols == ("note",) and bound.set_vals == ("n",)
    assert bound.lob_edits == (LobEdit("doc", LobKind.CLOB, ((2, "汉"),), 9),)
    assert bound.image == {"id": "7", "note": "n"}  # the old LOB value is not the new one
    blob_writes = LobWrites(oracle_type="BLOB", writes=(LobWrite(offset=0, data="00FF"),))
    only = planner.bind(_update({"BIN": blob_writes}))
    assert only.set_cols == () and only.lob_edits[0].writes == ((0, b"\x00\xff"),)
    plain = planner.bind(_update({"NOTE": "n"}))
    assert plain.run_key is not bound.run_key and not plain.lob_edits  # never one batch
    again = planner.bind(_update({"DOC": writes, "NOTE": "m"}, {"ID": "8", "DOC": "old"}))
    assert again.run_key is bound.run_key  # same shape: compiled once
    assert lob_row_key(bound) == LobRowKey(("id",), ("7",), False)


def test_lob_writes_anywhere_else_are_refused() -> None:
    planner = _planner()
    writes = LobWrites(oracle_type="CLOB", writes=(LobWrite(offset=0, data="x"),))
    insert = RowChange(op=Operation.INSERT, owner="HR", table="DOCS", pk=("ID",),
                       after={"ID": "1", "DOC": writes}, columns=COLUMNS)  # fmt: skip
    with pytest.raises(ValueNotStorable, match="can only update a row's CLOB/NCLOB/BLOB"):
        planner.bind(insert)
    with pytest.raises(ValueNotStorable, match="in-place LOB writes on a VARCHAR2"):
        planner.bind(_update({"NOTE": writes.model_copy(update={"oracle_type": "VARCHAR2"})}))
    ref = ValueRef(id="0", length=1, chunks=1, sha256="0" * 64)
    with pytest.raises(ValueNotStorable, match="value 0 whose value_chunk records did not"):
        planner.bind(_update({"NOTE": ref}))
    unresolved = LobWrites(oracle_type="CLOB", writes=(LobWrite(offset=0, data=ref),))
    with pytest.raises(ValueNotStorable, match="did not come with it"):
        lob_edit("doc", LobKind.CLOB, unresolved)
    not_hex = LobWrites(oracle_type="BLOB", writes=(LobWrite(offset=0, data="XY"),))
    with pytest.raises(ValueNotStorable, match="not hex"):
        lob_edit("bin", LobKind.BLOB, not_hex)
