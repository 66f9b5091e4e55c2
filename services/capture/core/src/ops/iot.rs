//! Layer 10 on index-organized tables (`ops/iot.py`): the leaf row operations IOT DML
//! writes (10.2 insert, 10.4 delete, 10.30 whole non-key update, 10.35 column non-key
//! update) and their undo, a 5.1 whose ktub names 10.22 with a "kdilk" field. These run
//! only for objects the dictionary says are captured IOTs; record decoding leaves layer
//! 10 a counted skip. Layouts and sources in docs/REDO_FORMAT.md ("Index-organized tables").

use super::kdo::{FB_LAST, FB_NEXT, read_row_column};
use super::undo::{Supplemental, parse_supplemental};
use super::{ChangeVector, byte, u16_in, u32_in};
use crate::binary::Endian;
use crate::error::{Error, Result};

/// One column as the leaf row stores it; None is NULL.
pub type Value<'a> = Option<&'a [u8]>;

// --- redo 10.x field 1: the leaf operation header ----------------------------------------
pub const LEAF_SNO: usize = 2; // u16: slot of the row in the leaf block
pub const LEAF_MIN: usize = 6;
pub const LCU_NCOL: usize = 7; // 10.35: u8 non-key columns stored after the change
pub const LCU_NNEW: usize = 8; // 10.35: u8 columns the change lists
pub const LCU_NULLS: usize = 12; // 10.35: NULL bitmap over the listed columns
pub const LCU_FLAG: usize = 6;
pub const LCU_MIN: usize = 13;
// --- the non-key part of a leaf row ---------------------------------------------------------
pub const NONKEY_FB: usize = 0;
pub const NONKEY_CC: usize = 2;
pub const NONKEY_COLUMNS: usize = 3;
pub const NRID_SIZE: usize = 6;
// --- undo: 5.1 field 3, kdilk ------------------------------------------------------------------
pub const KDILK_TYPE: usize = 0; // u8: the 10.x code the undo applies (see UndoKind)
pub const KDILK_FLAGS: usize = 2; // u8: 0x80 = supplemental data follows
pub const KDILK_BLOCK: usize = 8; // u32: the leaf block
pub const KDILK_MIN: usize = 20;
pub const KDILK_LCU: usize = 20; // kdxlcnu adds the 10.35 header fields 20 bytes in
pub const KDILK_LCU_MIN: usize = KDILK_LCU + LCU_MIN - LCU_FLAG; // 27
pub const KDILK_SUPPLEMENTAL: u8 = 0x80;
// Field indexes.
pub const REDO_LEAF: usize = 1;
pub const REDO_KEY: usize = 2;
pub const REDO_NONKEY: usize = 3;
pub const REDO_LNU_NONKEY: usize = 2;
pub const REDO_LCU_NUMBERS: usize = 2;
pub const UNDO_KDILK: usize = 3;
pub const UNDO_KEY: usize = 4;
pub const UNDO_NEXT: usize = 5;
/// The ktub opc of IOT leaf undo: KDICULK.
pub const UNDO_OPC: (u8, u8) = (10, 22);

/// Redo leaf row operations on an IOT that capture decodes.
pub mod leaf {
    pub const INSERT: u8 = 2;
    pub const DELETE: u8 = 4;
    pub const NONKEY: u8 = 30;
    pub const COLUMNS: u8 = 35;
    /// The codes [`super::parse_leaf_op`] decodes (`IOT_PARSERS`).
    pub const CODES: [u8; 4] = [INSERT, DELETE, NONKEY, COLUMNS];
}

/// kdilk types: the layer-10 code the undo record applies.
pub mod undo_kind {
    pub const PURGE: u8 = 3;
    pub const RESTORE: u8 = 5;
    pub const KEYDATA: u8 = 18;
    pub const NONKEY: u8 = 30;
    pub const COLUMNS: u8 = 35;
}

/// The kdilk type the undo of each decoded redo leaf op carries (`UNDO_OF`).
pub fn undo_of(code: u8) -> Option<u8> {
    match code {
        leaf::INSERT => Some(undo_kind::PURGE),
        leaf::DELETE => Some(undo_kind::RESTORE),
        leaf::NONKEY => Some(undo_kind::NONKEY),
        leaf::COLUMNS => Some(undo_kind::COLUMNS),
        _ => None,
    }
}

/// The non-key part of a leaf row: flag byte, columns, and the overflow part's address
/// when the row goes on there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonKey<'a> {
    pub fb: u8,
    pub columns: Vec<Value<'a>>,
    pub nrid: Option<(u32, u16)>,
}

impl NonKey<'_> {
    /// The row ends here (no overflow part follows).
    pub fn last(&self) -> bool {
        self.fb & FB_LAST != 0
    }
}

/// A decoded 10.2 / 10.4 / 10.30 / 10.35 redo vector on an IOT leaf block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafOp<'a> {
    pub code: u8,
    pub bdba: u32,
    pub slot: u16,
    pub key: Vec<Value<'a>>,
    pub nonkey: Option<NonKey<'a>>,
    /// 10.35: (0-based non-key column, value).
    pub changed: Vec<(u16, Value<'a>)>,
    pub ncol: u8,
}

/// The IOT part of a 5.1 whose ktub names 10.22: what would undo the leaf change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafUndo<'a> {
    pub kind: u8,
    pub flags: u8,
    pub bdba: u32,
    pub key: Vec<Value<'a>>,
    pub nonkey: Option<NonKey<'a>>,
    pub changed: Vec<(u16, Value<'a>)>,
    pub ncol: u8,
    pub supplemental: Option<Supplemental<'a>>,
}

fn need<'a>(cv: &ChangeVector<'a, '_>, index: usize, size: usize, what: &str) -> Result<&'a [u8]> {
    match cv.get(index) {
        Some(f) if f.len() >= size => Ok(f),
        found => {
            let mut err = Error::parse(format!("{what} field missing or too short"))
                .at("opcode", cv.opcode())
                .at("field", index)
                .at("expected", size);
            if let Some(f) = found {
                err = err.at("found", f.len());
            }
            Err(err)
        }
    }
}

/// The key columns of a leaf row: row-format columns filling the whole field.
pub fn parse_key<'a>(cv: &ChangeVector<'a, '_>, index: usize) -> Result<Vec<Value<'a>>> {
    let data = need(cv, index, 1, "IOT key")?;
    let (mut pos, mut out) = (0, Vec::new());
    while pos < data.len() {
        let (value, next) = read_row_column(data, pos, cv.endian)?;
        out.push(value);
        pos = next;
    }
    Ok(out)
}

fn columns(data: &[u8], mut pos: usize, count: u8, e: Endian) -> Result<(Vec<Value<'_>>, usize)> {
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (value, next) = read_row_column(data, pos, e)?;
        out.push(value);
        pos = next;
    }
    Ok((out, pos))
}

/// The non-key part: fb, lb, cc, then cc columns that fill the field exactly; a part
/// that goes on in the overflow segment may carry the overflow address first (the
/// layout the bytes fill exactly is taken).
pub fn parse_nonkey<'a>(cv: &ChangeVector<'a, '_>, index: usize) -> Result<NonKey<'a>> {
    let data = need(cv, index, NONKEY_COLUMNS, "IOT non-key")?;
    let (fb, cc, e) = (data[NONKEY_FB], data[NONKEY_CC], cv.endian);
    let with_nrid = fb & FB_NEXT != 0 && fb & FB_LAST == 0;
    let starts: &[usize] = if with_nrid {
        &[NONKEY_COLUMNS, NONKEY_COLUMNS + NRID_SIZE]
    } else {
        &[NONKEY_COLUMNS]
    };
    for &start in starts {
        let Ok((columns, end)) = columns(data, start, cc, e) else {
            continue;
        };
        if end == data.len() {
            let nrid = (start > NONKEY_COLUMNS).then(|| {
                (
                    u32_in(e, data, NONKEY_COLUMNS),
                    u16_in(e, data, NONKEY_COLUMNS + 4),
                )
            });
            return Ok(NonKey { fb, columns, nrid });
        }
    }
    Err(Error::parse("IOT non-key columns do not fill their field")
        .at("opcode", cv.opcode())
        .at("field", index)
        .at("expected", cc)
        .at("found", data.len()))
}

/// `nnew` (column, value) pairs: u16 numbers in field `numbers_at`, one field per value
/// after it; NULL where the bitmap bit is set (or the field is empty).
fn listed<'a>(
    cv: &ChangeVector<'a, '_>,
    numbers_at: usize,
    nnew: u8,
    nulls: &[u8],
    nulls_at: usize,
) -> Result<Vec<(u16, Value<'a>)>> {
    let nnew = usize::from(nnew);
    let numbers = need(cv, numbers_at, 2 * nnew, "IOT column numbers")?;
    let mut out = Vec::with_capacity(nnew);
    for k in 0..nnew {
        let at = numbers_at + 1 + k;
        if at >= cv.field_count() {
            return Err(Error::parse("IOT column value field missing")
                .at("field", at)
                .at("expected", nnew));
        }
        let null = nulls
            .get(nulls_at + k / 8)
            .is_some_and(|b| b & (1 << (k % 8)) != 0);
        let value = if null {
            None
        } else {
            cv.get(at).filter(|v| !v.is_empty())
        };
        out.push((u16_in(cv.endian, numbers, 2 * k), value));
    }
    Ok(out)
}

/// One IOT leaf redo vector (10.2, 10.4, 10.30 or 10.35).
pub fn parse_leaf_op<'a>(cv: &ChangeVector<'a, '_>) -> Result<LeafOp<'a>> {
    let head = need(cv, REDO_LEAF, LEAF_MIN, "leaf operation")?;
    let code = cv.header.code;
    let mut op = LeafOp {
        code,
        bdba: cv.header.dba,
        slot: u16_in(cv.endian, head, LEAF_SNO),
        key: Vec::new(),
        nonkey: None,
        changed: Vec::new(),
        ncol: 0,
    };
    match code {
        leaf::INSERT => {
            op.key = parse_key(cv, REDO_KEY)?;
            op.nonkey = Some(parse_nonkey(cv, REDO_NONKEY)?);
        }
        leaf::NONKEY => op.nonkey = Some(parse_nonkey(cv, REDO_LNU_NONKEY)?),
        leaf::COLUMNS => {
            let head = need(cv, REDO_LEAF, LCU_MIN, "10.35 leaf operation")?;
            op.ncol = head[LCU_NCOL];
            op.changed = listed(cv, REDO_LCU_NUMBERS, head[LCU_NNEW], head, LCU_NULLS)?;
        }
        leaf::DELETE => {}
        _ => {
            return Err(
                Error::parse("not an IOT leaf row operation").at("opcode", format!("10.{code}"))
            );
        }
    }
    Ok(op)
}

/// The IOT part of a 5.1 with opc 10.22: kdilk, key, the old non-key data, and the
/// supplemental fields after them. Kinds other than the decoded ones are read up to the
/// key (the caller refuses them).
pub fn parse_leaf_undo<'a>(cv: &ChangeVector<'a, '_>) -> Result<LeafUndo<'a>> {
    let kdilk = need(cv, UNDO_KDILK, KDILK_MIN, "kdilk")?;
    let (kind, flags) = (kdilk[KDILK_TYPE], kdilk[KDILK_FLAGS]);
    let mut undo = LeafUndo {
        kind,
        flags,
        bdba: u32_in(cv.endian, kdilk, KDILK_BLOCK),
        key: parse_key(cv, UNDO_KEY)?,
        nonkey: None,
        changed: Vec::new(),
        ncol: 0,
        supplemental: None,
    };
    let mut after = UNDO_NEXT;
    if kind == undo_kind::RESTORE || kind == undo_kind::NONKEY {
        undo.nonkey = Some(parse_nonkey(cv, UNDO_NEXT)?);
        after = UNDO_NEXT + 1;
    } else if kind == undo_kind::COLUMNS {
        let kdilk = need(cv, UNDO_KDILK, KDILK_LCU_MIN, "kdxlcnu kdilk")?;
        let shift = KDILK_LCU - LCU_FLAG;
        undo.ncol = byte(kdilk, shift + LCU_NCOL);
        let nnew = byte(kdilk, shift + LCU_NNEW);
        undo.changed = listed(cv, UNDO_NEXT, nnew, kdilk, shift + LCU_NULLS)?;
        after = UNDO_NEXT + 1 + usize::from(nnew);
    }
    let decoded = [
        undo_kind::PURGE,
        undo_kind::RESTORE,
        undo_kind::NONKEY,
        undo_kind::COLUMNS,
    ];
    if flags & KDILK_SUPPLEMENTAL != 0 && decoded.contains(&kind) {
        undo.supplemental = parse_supplemental(cv, after)?;
        if undo.supplemental.is_none() {
            return Err(
                Error::parse("IOT undo flags supplemental data that is not there")
                    .at("opcode", "5.1")
                    .at("field", after),
            );
        }
    }
    Ok(undo)
}
