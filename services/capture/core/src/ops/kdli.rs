//! Layer 26 (KDLI, LOB data blocks; `ops/kdli.py`): 26.6 block images of SecureFile LOB
//! data, and 26.2 changes to an existing LOB block (read only for what names its LOB,
//! table and transaction). Field numbers are 0-based; sources in docs/REDO_FORMAT.md.

use super::kdo::parse_ktb;
use super::undo::field_at;
use super::{ChangeVector, Xid, need_field, read_xid, u16_in, u32_in};
use crate::binary::Endian;
use crate::error::{Error, Result};
use crate::vectors::VectorSlot;

// --- kdli common (26.6 field 0, 26.2 field 1), 12 bytes -----------------------------------
pub const KDLI_OP: usize = 0; // u8: 6 BIMG …
pub const KDLI_TYPE: usize = 1; // u8: & 0x70: 0x20 data
pub const KDLI_PSIZ: usize = 4; // u16: data bytes a page holds
pub const KDLI_DBA: usize = 8; // u32: the LOB block
pub const KDLI_COMMON_MIN: usize = 12;
// --- kdli sub-structures: u8 code at 0 ----------------------------------------------------
pub const KDLI_CODE: usize = 0;
pub const CODE_LOAD_DATA: u8 = 0x04;
pub const CODE_SUPLOG: u8 = 0x09;
pub const CODE_FPLOAD: u8 = 0x0B;
pub const FPLOAD_XID: usize = 16; // u16 usn, u16 slot, u32 sqn
pub const FPLOAD_DATA_OBJ: usize = 24; // u32: the LOB segment's data object
pub const FPLOAD_MIN: usize = 28;
pub const LOAD_LID: usize = 12; // 10 bytes: the LOB id
pub const LOAD_LID_SIZE: usize = 10;
pub const LOAD_FLG2: usize = 28; // u8 (0x10 = cmap)
pub const LOAD_HWM: usize = 52; // u16: valid data bytes in this block
pub const LOAD_MIN: usize = 56;
pub const SUPLOG_XID: usize = 4; // u16 usn, u16 slot, u32 sqn
pub const SUPLOG_OBJ: usize = 12; // u32: the table's object number
pub const SUPLOG_COLUMN: usize = 18; // u16: the LOB column
pub const SUPLOG_MIN: usize = 20;
// 26.6 BIMG field order
pub const BIMG_COMMON: usize = 0;
pub const BIMG_FPLOAD: usize = 1;
pub const BIMG_LOAD: usize = 2;
pub const BIMG_DATA: usize = 3;
pub const BIMG_SUPLOG: usize = 4;
pub const OP_BIMG: u8 = 0x06;
pub const KDLI_TYPE_MASK: u8 = 0x70;
pub const KDLI_TYPE_DATA: u8 = 0x20;
pub const FLG2_CMAP: u8 = 0x10;
pub const R26_2_KTB: usize = 0;
pub const R26_2_COMMON: usize = 1;

/// 26.6: one whole LOB data block (its `hwm` data bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobPage<'a> {
    pub dba: u32,
    pub lid: &'a [u8],
    pub xid: Xid,
    /// The LOB segment's data object.
    pub data_obj: u32,
    /// The table (suplog); None when the vector has no suplog field.
    pub obj: Option<u32>,
    pub column: Option<u16>,
    pub page_size: u16,
    pub data: &'a [u8],
}

/// A layer-26 change read only to name it: 26.2, or a 26.6 that is not a data block
/// image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobBlockChange<'a> {
    pub code: u8,
    pub kdli_op: u8,
    pub dba: u32,
    pub xid: Option<Xid>,
    pub lid: Option<&'a [u8]>,
    pub obj: Option<u32>,
    pub column: Option<u16>,
}

/// 26.6 decodes to a page or to a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kdli<'a> {
    Page(LobPage<'a>),
    Change(LobBlockChange<'a>),
}

fn common(cv: &ChangeVector<'_, '_>, index: usize) -> Result<(u8, u8, u16, u32)> {
    let f = need_field(cv, index, KDLI_COMMON_MIN, "kdli common")?;
    let e = cv.endian;
    Ok((
        f[KDLI_OP],
        f[KDLI_TYPE],
        u16_in(e, f, KDLI_PSIZ),
        u32_in(e, f, KDLI_DBA),
    ))
}

fn need_code<'a>(
    cv: &ChangeVector<'a, '_>,
    index: usize,
    code: u8,
    size: usize,
    what: &str,
) -> Result<&'a [u8]> {
    let f = need_field(cv, index, size, what)?;
    if f[KDLI_CODE] != code {
        return Err(
            Error::parse(format!("26.6 field {index} is not kdli {what}"))
                .at("opcode", "26.6")
                .at("field", index)
                .at("expected", code)
                .at("found", f[KDLI_CODE]),
        );
    }
    Ok(f)
}

/// 26.6: a LOB data block image, or (other kdli ops) a [`LobBlockChange`].
pub fn parse_26_6<'a>(cv: &ChangeVector<'a, '_>) -> Result<Kdli<'a>> {
    let (op, typ, psiz, dba) = common(cv, BIMG_COMMON)?;
    if op != OP_BIMG || typ & KDLI_TYPE_MASK != KDLI_TYPE_DATA {
        return Ok(Kdli::Change(block_change(cv, BIMG_COMMON + 1, op, dba)));
    }
    let e = cv.endian;
    let fpload = need_code(cv, BIMG_FPLOAD, CODE_FPLOAD, FPLOAD_MIN, "fpload")?;
    let load = need_code(cv, BIMG_LOAD, CODE_LOAD_DATA, LOAD_MIN, "load data")?;
    if load[LOAD_FLG2] & FLG2_CMAP != 0 {
        return Ok(Kdli::Change(block_change(cv, BIMG_FPLOAD, op, dba))); // compressed page
    }
    let hwm = usize::from(u16_in(e, load, LOAD_HWM));
    let data = need_field(cv, BIMG_DATA, hwm, "LOB data")?;
    let (mut obj, mut column) = (None, None);
    if cv.field_len(BIMG_SUPLOG) >= SUPLOG_MIN {
        let suplog = cv.field(BIMG_SUPLOG)?;
        if suplog[KDLI_CODE] == CODE_SUPLOG {
            obj = Some(u32_in(e, suplog, SUPLOG_OBJ));
            column = Some(u16_in(e, suplog, SUPLOG_COLUMN));
        }
    }
    Ok(Kdli::Page(LobPage {
        dba,
        lid: &load[LOAD_LID..LOAD_LID + LOAD_LID_SIZE],
        xid: read_xid(e, fpload, FPLOAD_XID)?,
        data_obj: u32_in(e, fpload, FPLOAD_DATA_OBJ),
        obj,
        column,
        page_size: psiz,
        data: &data[..hwm],
    }))
}

/// 26.2: KTB redo, kdli common, then kdli sub-structures (read for names only).
pub fn parse_26_2<'a>(cv: &ChangeVector<'a, '_>) -> Result<LobBlockChange<'a>> {
    let (op, _, _, dba) = common(cv, R26_2_COMMON)?;
    let mut change = block_change(cv, R26_2_COMMON + 1, op, dba);
    // its 'F' XID first: the fields' may be absent
    if let Some(xid) = parse_ktb(cv, R26_2_KTB).and_then(|ktb| ktb.xid) {
        change.xid = Some(xid);
    }
    Ok(change)
}

/// What the kdli fields from `first` on name: LID, table, column, XID.
fn block_change<'a>(
    cv: &ChangeVector<'a, '_>,
    first: usize,
    op: u8,
    dba: u32,
) -> LobBlockChange<'a> {
    let e = cv.endian;
    let mut change = LobBlockChange {
        code: cv.header.code,
        kdli_op: op,
        dba,
        xid: None,
        lid: None,
        obj: None,
        column: None,
    };
    for index in first..cv.field_count() {
        let f = cv.get(index).unwrap_or(&[]);
        let Some(&code) = f.first() else { continue };
        if code == CODE_LOAD_DATA && f.len() >= LOAD_MIN && change.lid.is_none() {
            change.lid = f.get(LOAD_LID..LOAD_LID + LOAD_LID_SIZE);
        } else if code == CODE_SUPLOG && f.len() >= SUPLOG_MIN {
            change.obj = Some(u32_in(e, f, SUPLOG_OBJ));
            change.column = Some(u16_in(e, f, SUPLOG_COLUMN));
            if change.xid.is_none() {
                change.xid = read_xid(e, f, SUPLOG_XID).ok();
            }
        } else if code == CODE_FPLOAD && f.len() >= FPLOAD_MIN {
            change.xid = read_xid(e, f, FPLOAD_XID).ok();
        }
    }
    change
}

/// For a 26.x vector: the table its suplog field names, read in place (what the triage
/// needs); None when no field names one.
pub fn quick_lob_table(data: &[u8], slot: &VectorSlot, lengths: &[u16], e: Endian) -> Option<u32> {
    let own = slot.lengths(lengths);
    let indexes = if slot.code == 6 {
        if own
            .first()
            .is_none_or(|&n| usize::from(n) < KDLI_COMMON_MIN)
        {
            return None;
        }
        if *data.get(slot.fields_at as usize + KDLI_OP)? == OP_BIMG {
            // field 3 is data: only 4 can name it
            BIMG_SUPLOG..(BIMG_SUPLOG + 1).min(own.len())
        } else {
            BIMG_FPLOAD..own.len()
        }
    } else {
        R26_2_COMMON + 1..own.len()
    };
    for index in indexes {
        if usize::from(own[index]) >= SUPLOG_MIN {
            let at = field_at(slot, lengths, index);
            if *data.get(at + KDLI_CODE)? == CODE_SUPLOG {
                return e.get_u32(data, at + SUPLOG_OBJ);
            }
        }
    }
    None
}
