//! 11.17 LLB (LogMiner LOB support; `ops/lob.py`): the LOB writes a transaction makes,
//! by LOB id. Field 1 byte 0 is the type; field 2 holds the rest (offsets and sources in
//! docs/REDO_FORMAT.md, "LOBs").

use super::undo::field_at;
use super::{ChangeVector, Xid, need_field, read_xid};
use crate::binary::Endian;
use crate::error::Result;
use crate::vectors::VectorSlot;

pub const LLB_TYPE_FIELD: usize = 1;
pub const LLB_TYPE: usize = 0; // u8 (field 1): 1 LOB write begins, 3 ends, 4 row's LOB columns
pub const LLB_BODY_FIELD: usize = 2;
pub const LLB1_OP: usize = 0; // u8: 0x01/0x02 write, 0x66/0x67 trim, 0x68 erase; byte 1 is 0
pub const LLB1_XID: usize = 4; // type 1: u16 usn, u16 slot, u32 sqn
pub const LLB1_LID: usize = 12; // type 1: 10 bytes, the LOB id
pub const LLB1_COLUMN: usize = 22; // type 1: u16 LOB column
pub const LLB1_PAGE_SIZE: usize = 28; // type 1: u32 data bytes per page
pub const LLB1_LENGTH: usize = 32; // type 1: u32 LOB length (write), new length (trim) …
pub const LLB1_OBJ: usize = 36; // type 1: u32 table object
pub const LLB1_MIN: usize = 40;
pub const LLB3_XID: usize = 0; // type 3: xid
pub const LLB3_OBJ: usize = 8; // type 3: u32 table object
pub const LLB3_LENGTH: usize = 12; // type 3: u32 LOB length after the write (>= 16 bytes)
pub const LLB3_COLUMN: usize = 34; // type 3: u16 column (>= 36 bytes)
pub const LLB3_MIN: usize = 12;
pub const LLB4_OBJ: usize = 0; // type 4: u32 table object
pub const LLB4_XID: usize = 8; // type 4: xid; field 3 lists the LOB column numbers (u16)
pub const LLB4_MIN: usize = 16;
pub const LLB4_COLUMNS_FIELD: usize = 3;
pub const LLB_TYPE_WRITE_BEGIN: u8 = 1;
pub const LLB_TYPE_WRITE_END: u8 = 3;
pub const LLB_TYPE_COLUMNS: u8 = 4;
pub const LID_SIZE: usize = 10;

/// 11.17: one LLB. `op`, `lid`, `length` and `page_size` are type 1's (type 3 has a
/// `length` too); `columns` lists type 4's LOB columns, or the one column type 1/3 names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobOp<'a> {
    pub kind: u8,
    pub xid: Option<Xid>,
    pub obj: Option<u32>,
    pub columns: Vec<u16>,
    pub op: Option<u16>,
    pub lid: Option<&'a [u8]>,
    pub length: Option<u32>,
    pub page_size: Option<u32>,
}

/// 11.17 LLB: type, XID, object, LOB columns; type 1: operation, LID and lengths.
pub fn parse_11_17<'a>(cv: &ChangeVector<'a, '_>) -> Result<LobOp<'a>> {
    let kind = need_field(cv, LLB_TYPE_FIELD, 1, "LLB type")?[LLB_TYPE];
    let e = cv.endian;
    let mut op = LobOp {
        kind,
        xid: None,
        obj: None,
        columns: Vec::new(),
        op: None,
        lid: None,
        length: None,
        page_size: None,
    };
    match kind {
        LLB_TYPE_WRITE_BEGIN => {
            let f = need_field(cv, LLB_BODY_FIELD, LLB1_MIN, "LLB type 1")?;
            let second = f[LLB1_OP + 1];
            op.op = Some(if second == 0 {
                u16::from(f[LLB1_OP])
            } else {
                0xFF00 | u16::from(second)
            });
            op.xid = Some(read_xid(e, f, LLB1_XID)?);
            op.obj = Some(e.u32(f, LLB1_OBJ)?);
            op.columns = vec![e.u16(f, LLB1_COLUMN)?];
            op.lid = f.get(LLB1_LID..LLB1_LID + LID_SIZE);
            op.length = Some(e.u32(f, LLB1_LENGTH)?);
            op.page_size = Some(e.u32(f, LLB1_PAGE_SIZE)?);
        }
        LLB_TYPE_WRITE_END => {
            let f = need_field(cv, LLB_BODY_FIELD, LLB3_MIN, "LLB type 3")?;
            if f.len() >= LLB3_COLUMN + 2 {
                op.columns = vec![e.u16(f, LLB3_COLUMN)?];
            }
            if f.len() >= LLB3_LENGTH + 4 {
                op.length = Some(e.u32(f, LLB3_LENGTH)?);
            }
            op.xid = Some(read_xid(e, f, LLB3_XID)?);
            op.obj = Some(e.u32(f, LLB3_OBJ)?);
        }
        LLB_TYPE_COLUMNS => {
            let f = need_field(cv, LLB_BODY_FIELD, LLB4_MIN, "LLB type 4")?;
            let ids = if cv.field_count() > LLB4_COLUMNS_FIELD {
                cv.field(LLB4_COLUMNS_FIELD)?
            } else {
                &[]
            };
            op.columns = ids
                .chunks_exact(2)
                .map(|b| e.u16_of([b[0], b[1]]))
                .collect();
            op.xid = Some(read_xid(e, f, LLB4_XID)?);
            op.obj = Some(e.u32(f, LLB4_OBJ)?);
        }
        _ => {}
    }
    Ok(op)
}

/// For an 11.17, read in place for the triage: its type (-1 when unreadable) and, for a
/// type 1 (a LOB write), its table (None when the field is too short to read).
pub fn quick_llb(data: &[u8], slot: &VectorSlot, lengths: &[u16], e: Endian) -> (i16, Option<u32>) {
    let own = slot.lengths(lengths);
    if own.len() <= LLB_TYPE_FIELD || own[LLB_TYPE_FIELD] < 1 {
        return (-1, None);
    }
    let Some(&kind) = data.get(field_at(slot, lengths, LLB_TYPE_FIELD) + LLB_TYPE) else {
        return (-1, None);
    };
    if kind != LLB_TYPE_WRITE_BEGIN || own.len() <= LLB_BODY_FIELD {
        return (i16::from(kind), None);
    }
    if usize::from(own[LLB_BODY_FIELD]) < LLB1_MIN {
        return (i16::from(kind), None);
    }
    let obj = e.get_u32(data, field_at(slot, lengths, LLB_BODY_FIELD) + LLB1_OBJ);
    (i16::from(kind), obj)
}
