"""24.1 DDL: the statement text and the object, as logged for LogMiner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drcapture.redo.ops.common import need_field, read_xid
from drcapture.redo.vectors import ChangeVector
from drcapture.redo.xid import Xid

# --- 24.1 DDL --------------------------------------------------------------------------------
DDL_XID: Final = 4  # field 0: u16 usn, u16 slot, u32 sqn
DDL_COMMAND: Final = 12  # field 0: u16 Oracle command number (Dyke; 1 = CREATE TABLE)
DDL_KIND: Final = 16  # field 0: u16 statement kind
DDL_MIN: Final = 18
DDL_SQL_FIELD: Final = 7  # the SQL text
DDL_OBJ_FIELD: Final = 11  # u32 object number
DDL_KINDS_WITHOUT_OBJ: Final = frozenset({4, 5, 6, 8, 9, 10})


@dataclass(frozen=True, slots=True)
class Ddl:
    """24.1: a DDL statement as logged for LogMiner."""

    xid: Xid
    kind: int
    obj: int | None
    sql: str
    command: int  # Oracle's command number (drcommon.sqlcommand)


def parse_24_1(cv: ChangeVector) -> Ddl:
    """24.1 DDL: XID, kind, SQL text, object number and command."""
    f = need_field(cv, 0, DDL_MIN, "DDL header")
    e = cv.endian
    kind = e.u16(f, DDL_KIND)
    obj = None
    if len(cv.fields) > DDL_OBJ_FIELD and kind not in DDL_KINDS_WITHOUT_OBJ:
        obj_field = cv.field(DDL_OBJ_FIELD)
        obj = e.u32(obj_field, 0) if len(obj_field) >= 4 else None
    sql = ""
    if len(cv.fields) > DDL_SQL_FIELD:
        sql = bytes(cv.field(DDL_SQL_FIELD)).rstrip(b"\x00").decode("utf-8", "replace")
    return Ddl(xid=read_xid(cv, f, DDL_XID), kind=kind, obj=obj, sql=sql,
               command=e.u16(f, DDL_COMMAND))
