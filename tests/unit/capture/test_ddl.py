"""Which DDL statements make the capture dictionary stale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from drcapture.ddl import changes_layout, layout_ddl, split_at_layout_ddl
from drcapture.publish import CommittedTransaction
from drcommon.model import Operation, RowChange, TransactionInfo


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE si.person ADD (mobile VARCHAR2(20))",
        'alter table "SI"."PERSON" drop column mobile',
        "ALTER TABLE SI.PERSON MODIFY (NAME VARCHAR2(200))",
        "ALTER TABLE SI.PERSON RENAME COLUMN NAME TO FULL_NAME",
        "ALTER TABLE SI.PAY ADD PARTITION P2027 VALUES LESS THAN (2028)",
        "ALTER TABLE SI.PAY SPLIT PARTITION PMAX AT (2030) INTO (PARTITION P1, PARTITION P2)",
        "ALTER TABLE SI.PERSON SET UNUSED (MOBILE)",
        "DROP TABLE SI.PERSON PURGE",
        "RENAME PERSON TO PEOPLE",
        "ALTER TABLE SI.PERSON MOVE",
        "/* by DBA */ ALTER   TABLE\n SI.PERSON ADD (X NUMBER)",
    ],
)
def test_layout_changes_stop_decoding(sql: str) -> None:
    assert changes_layout(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE SI.PERSON ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS",
        "ALTER TABLE SI.PERSON ADD CONSTRAINT PK_PERSON PRIMARY KEY (ID)",
        "ALTER TABLE SI.PERSON ENABLE ROW MOVEMENT",
        "ALTER TABLE SI.PERSON NOLOGGING",
        "TRUNCATE TABLE SI.PERSON",
        "CREATE INDEX SI.IX_PERSON ON SI.PERSON (NAME)",
        "GRANT SELECT ON SI.PERSON TO REPORTING",
        "COMMENT ON TABLE SI.PERSON IS 'people'",
    ],
)
def test_other_statements_pass(sql: str) -> None:
    assert not changes_layout(sql)


def _tx(*changes: RowChange) -> CommittedTransaction:
    return CommittedTransaction(
        TransactionInfo(
            xid="1.1.1",
            commit_scn=1,
            commit_ts=datetime(2026, 1, 1, tzinfo=UTC),
            thread=1,
            commit_rba="0x000001.00000002.0010",
            changes_total=len(changes),
            schemas=("SI",),
        ),
        changes,
    )


def test_split_publishes_through_the_ddl_and_holds_the_rest() -> None:
    row = RowChange(op=Operation.INSERT, owner="SI", table="PERSON", after={"ID": "1"})
    harmless = RowChange(
        op=Operation.DDL,
        owner="SI",
        table="PERSON",
        ddl="ALTER TABLE SI.PERSON ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS",
    )
    layout = RowChange(
        op=Operation.DDL,
        owner="SI",
        table="PERSON",
        ddl="ALTER TABLE SI.PERSON ADD (MOBILE VARCHAR2(20))",
    )
    released = [_tx(row), _tx(harmless), _tx(layout), _tx(row), _tx(row)]
    publish, held, ddl_tx = split_at_layout_ddl(released)
    assert publish == released[:3] and held == released[3:] and ddl_tx is released[2]
    assert layout_ddl(released[1]) is None
    assert split_at_layout_ddl(released[:2]) == (released[:2], [], None)
