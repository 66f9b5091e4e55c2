"""A 2-thread RAC workload with DDL in the middle (tests/e2e/test_ddl_replication.py and
the offline decode test): add a column and insert rows using it on the other thread,
rename a column, drop a column, add a partition, create a table on one thread and fill it
from the other, truncate, create-fill-drop a table."""

from __future__ import annotations

from drcapture.dictionary.model import OracleType
from drcapture.synth.workload import (
    AddColumn,
    AddPartition,
    Col,
    Commit,
    CreateTable,
    DropColumn,
    DropTable,
    Insert,
    LogSwitch,
    RenameColumn,
    Step,
    Table,
    Truncate,
    Update,
    Workload,
    row,
)
from drcapture.synth.workload_build import BuiltWorkload, build_workload

NUMBER, TEXT = OracleType.NUMBER, OracleType.VARCHAR2

PERSON = Table("SI", "PERSON", 90001, (
    Col("ID", NUMBER, precision=12, scale=0, nullable=False),
    Col("NAME", TEXT, length=60),
    Col("ADDRESS", TEXT, length=200),
    Col("BALANCE", NUMBER, precision=14, scale=2),
), pk=("ID",))
VISIT = Table("HIS", "VISIT", 90002, (
    Col("ID", NUMBER, precision=12, scale=0, nullable=False),
    Col("PERSON_ID", NUMBER, precision=12, scale=0),
    Col("FEE", NUMBER, precision=10, scale=2),
), pk=("ID",))
SALES = Table("SI", "SALES", 90003, (Col("ID", NUMBER),), partitions=(("P2025", 90004),))
ORDERS = Table("HIS", "ORDERS", 90010, (
    Col("OID", NUMBER, precision=12, scale=0, nullable=False),
    Col("ITEM", TEXT, length=40),
), pk=("OID",))
SCRATCH = Table("SI", "SCRATCH", 90020, (
    Col("ID", NUMBER, precision=12, scale=0, nullable=False), Col("V", TEXT, length=10),
), pk=("ID",))

BEFORE_DDL = (
    Step(1, "a", Insert("PERSON", row(ID="1", NAME="王伟", ADDRESS="淳安县千岛湖镇1号",
                                      BALANCE="12.5"))),
    Step(1, "a", Insert("PERSON", row(ID="2", NAME="李娜", ADDRESS="杭州市西湖区", BALANCE="0"))),
    Step(1, "a", Commit()),
    Step(2, "b", Insert("PERSON", row(ID="3", NAME="张敏", ADDRESS=None, BALANCE="-3.25"))),
    Step(2, "b", Insert("VISIT", row(ID="1", PERSON_ID="1", FEE="20"))),
    Step(2, "b", Commit()),
    # ADD COLUMN on thread 1; thread 2 uses the column at once.
    Step(1, "d1", AddColumn("PERSON", Col("MOBILE", TEXT, length=20))),
)
AFTER_DDL = (
    Step(2, "c", Insert("PERSON", row(ID="4", NAME="刘洋", ADDRESS="淳安县汾口镇", BALANCE="7",
                                      MOBILE="13800000004"))),
    Step(2, "c", Update("PERSON", row(ID="1"), row(MOBILE="13800000001"))),
    Step(2, "c", Commit()),
    Step(2, "d2", RenameColumn("PERSON", "ADDRESS", "ADDR")),
    Step(1, "e", Update("PERSON", row(ID="2"), row(ADDR="建德市新安江街道"))),
    Step(1, "e", Commit()),
    Step(1, "d3", DropColumn("PERSON", "BALANCE")),
    Step(2, "f", Insert("PERSON", row(ID="5", NAME="陈杰", ADDR="淳安县威坪镇", MOBILE=None))),
    Step(2, "f", Commit()),
    Step(1, "d4", AddPartition("SALES", "P2026", 90030)),
    # A table created on thread 2 and filled from thread 1.
    Step(2, "d5", CreateTable(ORDERS)),
    Step(1, "g", Insert("ORDERS", row(OID="1", ITEM="胰岛素"))),
    Step(1, "g", Insert("ORDERS", row(OID="2", ITEM="阿莫西林"))),
    Step(1, "g", Commit()),
    Step(2, "h", Insert("VISIT", row(ID="2", PERSON_ID="2", FEE="35.5"))),
    Step(2, "h", Commit()),
    Step(1, "d6", Truncate("VISIT", 90040)),
    Step(2, "i", Insert("VISIT", row(ID="9", PERSON_ID="4", FEE="99"))),
    Step(2, "i", Commit()),
    Step(1, "d7", CreateTable(SCRATCH)),
    Step(1, "j", Insert("SCRATCH", row(ID="1", V="tmp"))),
    Step(1, "j", Commit()),
    Step(2, "d8", DropTable("SCRATCH")),
    Step(1, "k", Update("PERSON", row(ID="3"), row(NAME="张敏敏"))),
    Step(1, "k", Commit()),
)


def built_ddl_workload(switch_after_first_ddl: bool = False) -> BuiltWorkload:
    switch = (Step(1, "s", LogSwitch()), Step(2, "s", LogSwitch())) if (
        switch_after_first_ddl) else ()
    return build_workload(Workload(tables=(PERSON, VISIT, SALES),
                                   steps=BEFORE_DDL + switch + AFTER_DDL))


DDL_COUNT = 8

# A table outside the filter that a RENAME brings into it (as SI.PEOPLE).
STAGE = Table("SI", "STAGE", 90050, (
    Col("ID", NUMBER, precision=12, scale=0, nullable=False),
    Col("V", TEXT, length=10),
), pk=("ID",))
