//! 24.1 DDL (`ops/ddl.py`): the statement text and the object, as logged for LogMiner.

use super::{ChangeVector, Xid, need_field, read_xid, u16_in};
use crate::error::Result;

pub const DDL_XID: usize = 4; // field 0: u16 usn, u16 slot, u32 sqn
pub const DDL_COMMAND: usize = 12; // field 0: u16 Oracle command number (Dyke; 1 = CREATE TABLE)
pub const DDL_KIND: usize = 16; // field 0: u16 statement kind
pub const DDL_MIN: usize = 18;
pub const DDL_SQL_FIELD: usize = 7; // the SQL text
pub const DDL_OBJ_FIELD: usize = 11; // u32 object number
pub const DDL_KINDS_WITHOUT_OBJ: [u16; 6] = [4, 5, 6, 8, 9, 10];

/// 24.1: a DDL statement as logged for LogMiner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ddl {
    pub xid: Xid,
    pub kind: u16,
    pub obj: Option<u32>,
    /// The text, NULs at its end cut, invalid UTF-8 replaced (Python's "replace").
    pub sql: String,
    /// Oracle's command number (`drcommon.sqlcommand`).
    pub command: u16,
}

/// 24.1 DDL: XID, kind, SQL text, object number and command.
pub fn parse_24_1(cv: &ChangeVector<'_, '_>) -> Result<Ddl> {
    let f = need_field(cv, 0, DDL_MIN, "DDL header")?;
    let e = cv.endian;
    let kind = u16_in(e, f, DDL_KIND);
    let mut obj = None;
    if cv.field_count() > DDL_OBJ_FIELD && !DDL_KINDS_WITHOUT_OBJ.contains(&kind) {
        obj = e.get_u32(cv.field(DDL_OBJ_FIELD)?, 0);
    }
    let mut sql = String::new();
    if cv.field_count() > DDL_SQL_FIELD {
        let text = cv.field(DDL_SQL_FIELD)?;
        let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        sql = String::from_utf8_lossy(&text[..end]).into_owned();
    }
    Ok(Ddl {
        xid: read_xid(e, f, DDL_XID)?,
        kind,
        obj,
        sql,
        command: u16_in(e, f, DDL_COMMAND),
    })
}
