//! Layer 5 (transaction undo; `ops/undo.py`): 5.1 undo record, 5.2 transaction begin,
//! 5.4 commit or rollback, 5.6 / 5.11 partial-rollback marks, and the quick readers the
//! triage uses to read the same facts in place, from a scanned record.

use super::compressed::Listed;
use super::kdo::{RowOp, parse_ktb, parse_row_op};
use super::{ChangeVector, Xid, u16_in, u32_in, usn_of};
use crate::binary::Endian;
use crate::error::{Error, ErrorKind, Result};
use crate::layout as L;
use crate::vectors::VectorSlot;

// --- 5.1 field 0: ktudb ------------------------------------------------------------------
pub const KTUDB_XID_USN: usize = 8; // u16: transaction id
pub const KTUDB_XID_SLOT: usize = 10; // u16
pub const KTUDB_XID_SQN: usize = 12; // u32
pub const KTUDB_REC: usize = 18; // u8: record number inside the undo block
pub const KTUDB_MIN: usize = 20;

// --- ktub (5.1 field 1, 5.6 / 5.11 field 0) ------------------------------------------------
pub const KTUB_OBJ: usize = 0; // u32: object number
pub const KTUB_DATA_OBJ: usize = 4; // u32: data object number
pub const KTUB_OPC_LAYER: usize = 16; // u8: layer of the operation this undo reverses
pub const KTUB_OPC_CODE: usize = 17; // u8: its code (11.1 = row op follows)
pub const KTUB_SLOT: usize = 18; // u8: transaction slot
pub const KTUB_FLAGS: usize = 20; // u16: see the flags below
pub const KTUB_MIN: usize = 24;

// --- supplemental logging header (a field after the undo row data) ----------------------
pub const SUPP_TYPE: usize = 0; // u8: LogMiner op: 1 update, 2 insert, 4 delete
pub const SUPP_FB: usize = 1; // u8: F/L flags of one logical row change
pub const SUPP_CC: usize = 2; // u16: supplemental columns logged after
pub const SUPP_NULL: u16 = 0xFFFF; // a logged column's length when it is NULL
pub const SUPP_START_UNDO: usize = 6; // u16
pub const SUPP_START_REDO: usize = 8; // u16
pub const SUPP_BDBA: usize = 20; // u32: block of the row head (field >= 26 bytes)
pub const SUPP_SLOT: usize = 24; // u16
pub const SUPP_MIN: usize = 20;
pub const SUPP_ROW_MIN: usize = 26;

// --- 5.2 field 0: ktudh, 5.4 field 0: ktucm (same offsets for what is read) ------------
pub const KTUDH_SLOT: usize = 0; // u16
pub const KTUDH_SQN: usize = 4; // u32
pub const KTUDH_FLAGS: usize = 16; // u8
pub const KTUDH_MIN: usize = 20;
pub const KTUDH_CON_UID_LEN: usize = 4; // 12.1+: a last field of 4 bytes: container uid
pub const KTUCM_MIN: usize = 20;
pub const KTUCM_ROLLBACK: u8 = 0x04;
pub const KTUCM_TIME_FIELD_LEN: usize = 4; // a last field of 4 bytes: u32 commit time

/// ktub flag bits of a multi-block undo record (head, tail, middle).
pub const MULTI_BLOCK: u16 = 0x0001 | 0x0002 | 0x0100;

/// Undo of operations of these layers changes no row (transaction control, space
/// management of segments, extents and bitmaps).
pub const NON_ROW_UNDO_LAYERS: [u8; 4] = [5, 13, 14, 22];

/// Supplemental-logging data of an undo record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supplemental<'a> {
    pub op_type: u8,
    pub fb: u8,
    /// The header's count: one number, one length, one value each.
    pub column_count: u16,
    pub start_undo: u16,
    pub start_redo: u16,
    /// (bdba, slot) of the row head, when logged.
    pub row: Option<(u32, u16)>,
    /// (1-based column number, value).
    pub columns: Vec<Listed<'a>>,
}

impl Supplemental<'_> {
    /// This record opens a logical row change.
    pub fn first(&self) -> bool {
        self.fb & 0x08 != 0
    }

    /// This record closes a logical row change.
    pub fn last(&self) -> bool {
        self.fb & 0x04 != 0
    }
}

/// The undo header shared by 5.1, 5.6 and 5.11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ktub {
    pub obj: u32,
    pub data_obj: u32,
    pub opc: (u8, u8),
    pub slot: u8,
    pub flags: u16,
}

/// 5.1: undo for one change; `row_op` is the row op that would reverse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoRecord<'a> {
    pub xid: Xid,
    pub ktub: Ktub,
    pub row_op: Option<RowOp<'a>>,
    pub supplemental: Option<Supplemental<'a>>,
    pub undo_rec: u8,
    /// Why the row op could not be decoded (a variant refused): the refusal's text.
    pub row_error: Option<String>,
}

/// 5.2: a transaction takes an undo slot; `con_uid` from the 12.1+ last field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxBegin {
    pub xid: Xid,
    pub flags: u8,
    pub con_uid: Option<u32>,
}

/// 5.4: commit, or end of a rollback when the flags say so; `scn` is the vector's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxEnd {
    pub xid: Xid,
    pub flags: u8,
    pub scn: u64,
    pub unix_time: Option<u32>,
}

impl TxEnd {
    /// The transaction was rolled back as a whole.
    pub fn rollback(&self) -> bool {
        self.flags & KTUCM_ROLLBACK != 0
    }
}

/// 5.6 / 5.11: a partial rollback mark; the XID names only segment and slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialRollback {
    pub code: u8,
    pub xid: Xid,
    pub ktub: Ktub,
}

fn usn(cv: &ChangeVector<'_, '_>) -> Result<u16> {
    cv.usn().ok_or_else(|| {
        Error::parse("undo vector on a non-undo block class")
            .at("opcode", cv.opcode())
            .at("found", cv.header.cls)
    })
}

fn need<'a>(cv: &ChangeVector<'a, '_>, index: usize, size: usize, what: &str) -> Result<&'a [u8]> {
    super::need_field(cv, index, size, what)
}

/// The ktub field at `index`.
pub fn parse_ktub(cv: &ChangeVector<'_, '_>, index: usize) -> Result<Ktub> {
    let f = need(cv, index, KTUB_MIN, "ktub")?;
    Ok(ktub_of(cv.endian, f))
}

fn ktub_of(e: Endian, f: &[u8]) -> Ktub {
    Ktub {
        obj: u32_in(e, f, KTUB_OBJ),
        data_obj: u32_in(e, f, KTUB_DATA_OBJ),
        opc: (f[KTUB_OPC_LAYER], f[KTUB_OPC_CODE]),
        slot: f[KTUB_SLOT],
        flags: u16_in(e, f, KTUB_FLAGS),
    }
}

/// Supplemental-logging data starting at field `index`, if present there; a header
/// that disagrees with the fields after it is `CorruptRedo`.
pub fn parse_supplemental<'a>(
    cv: &ChangeVector<'a, '_>,
    index: usize,
) -> Result<Option<Supplemental<'a>>> {
    if cv.field_len(index) < SUPP_MIN {
        return Ok(None);
    }
    let f = cv.field(index)?;
    let e = cv.endian;
    let row = (f.len() >= SUPP_ROW_MIN).then(|| (u32_in(e, f, SUPP_BDBA), u16_in(e, f, SUPP_SLOT)));
    let count = u16_in(e, f, SUPP_CC);
    let columns = if count != 0 {
        supplemental_columns(cv, index, usize::from(count))?
    } else {
        Vec::new()
    };
    Ok(Some(Supplemental {
        op_type: f[SUPP_TYPE],
        fb: f[SUPP_FB],
        column_count: count,
        start_undo: u16_in(e, f, SUPP_START_UNDO),
        start_redo: u16_in(e, f, SUPP_START_REDO),
        row,
        columns,
    }))
}

fn supplemental_columns<'a>(
    cv: &ChangeVector<'a, '_>,
    index: usize,
    count: usize,
) -> Result<Vec<Listed<'a>>> {
    let fields = cv.field_count();
    if index + 2 + count >= fields {
        return Err(Error::corrupt(
            "supplemental columns missing: fewer fields than the header's count",
        )
        .at("opcode", cv.opcode())
        .at("field", index)
        .at("expected", format!("{count} column fields"))
        .at("found", fields.saturating_sub(index + 3)));
    }
    for (at, what) in [(index + 1, "column numbers"), (index + 2, "column lengths")] {
        if cv.field_len(at) != 2 * count {
            return Err(Error::corrupt(format!(
                "supplemental {what} disagree with the header's column count"
            ))
            .at("opcode", cv.opcode())
            .at("field", at)
            .at("expected", 2 * count)
            .at("found", cv.field_len(at)));
        }
    }
    let e = cv.endian;
    let (numbers, sizes) = (cv.field(index + 1)?, cv.field(index + 2)?);
    let mut columns = Vec::with_capacity(count);
    for k in 0..count {
        let value = cv.field(index + 3 + k)?;
        let (listed, size) = (u16_in(e, numbers, 2 * k), u16_in(e, sizes, 2 * k));
        let logged = if size == SUPP_NULL {
            0
        } else {
            usize::from(size)
        };
        if value.len() != logged {
            return Err(Error::corrupt(
                "supplemental column value disagrees with its logged length",
            )
            .at("opcode", cv.opcode())
            .at("field", index + 3 + k)
            .at("column", listed)
            .at("expected", size)
            .at("found", value.len()));
        }
        columns.push((listed, (!value.is_empty()).then_some(value)));
    }
    Ok(columns)
}

/// 5.1 undo record: ktudb, ktub, then (for row undo) KTB redo, kdo and row data.
pub fn parse_5_1<'a>(cv: &ChangeVector<'a, '_>) -> Result<UndoRecord<'a>> {
    let f = need(cv, 0, KTUDB_MIN, "ktudb")?;
    let e = cv.endian;
    let xid = Xid {
        usn: u16_in(e, f, KTUDB_XID_USN),
        slot: u16_in(e, f, KTUDB_XID_SLOT),
        sqn: Some(u32_in(e, f, KTUDB_XID_SQN)),
    };
    let ktub = parse_ktub(cv, 1)?;
    let (mut row_op, mut supplemental, mut row_error) = (None, None, None);
    if ktub.opc == (11, 1) && ktub.flags & MULTI_BLOCK == 0 && cv.field_count() > 3 {
        let parsed = parse_row_op(cv, 3, parse_ktb(cv, 2)).and_then(|op| {
            let supp = parse_supplemental(cv, op.next_field)?;
            Ok((op, supp))
        });
        match parsed {
            Ok((op, supp)) => (row_op, supplemental) = (Some(op), supp),
            // whose change it is, the ktub still says
            Err(err) if err.kind() == ErrorKind::Undecodable => row_error = Some(err.to_string()),
            Err(err) => return Err(err),
        }
    }
    Ok(UndoRecord {
        xid,
        ktub,
        row_op,
        supplemental,
        undo_rec: f[KTUDB_REC],
        row_error,
    })
}

/// 5.2 transaction begin; a 12.1+ begin whose container uid differs from its record
/// header's is damage.
pub fn parse_5_2(cv: &ChangeVector<'_, '_>) -> Result<TxBegin> {
    let f = need(cv, 0, KTUDH_MIN, "ktudh")?;
    let e = cv.endian;
    let mut con_uid = None;
    let last = cv.field_count().saturating_sub(1);
    if cv.header.con_id.is_some() && last > 0 && cv.field_len(last) == KTUDH_CON_UID_LEN {
        let found = e.u32(cv.field(last)?, 0)?;
        let record_uid = e.u32(cv.data, L::RECORD_CON_UID)?;
        if found != record_uid {
            return Err(Error::corrupt(
                "transaction begin names another container than its record",
            )
            .at("opcode", cv.opcode())
            .at("field", last)
            .at("expected", record_uid)
            .at("found", found));
        }
        con_uid = Some(found);
    }
    Ok(begin(e, f, 0, usn(cv)?, con_uid))
}

fn begin(e: Endian, buf: &[u8], at: usize, usn: u16, con_uid: Option<u32>) -> TxBegin {
    TxBegin {
        xid: Xid {
            usn,
            slot: u16_in(e, buf, at + KTUDH_SLOT),
            sqn: Some(u32_in(e, buf, at + KTUDH_SQN)),
        },
        flags: buf.get(at + KTUDH_FLAGS).copied().unwrap_or(0),
        con_uid,
    }
}

/// 5.4 commit / rollback.
pub fn parse_5_4(cv: &ChangeVector<'_, '_>) -> Result<TxEnd> {
    let f = need(cv, 0, KTUCM_MIN, "ktucm")?;
    let e = cv.endian;
    let count = cv.field_count();
    let mut unix_time = None;
    if count > 1 && cv.field_len(count - 1) == KTUCM_TIME_FIELD_LEN {
        unix_time = Some(e.u32(cv.field(count - 1)?, 0)?);
    }
    Ok(end(e, f, 0, usn(cv)?, cv.header.scn, unix_time))
}

fn end(e: Endian, buf: &[u8], at: usize, usn: u16, scn: u64, unix_time: Option<u32>) -> TxEnd {
    let b = begin(e, buf, at, usn, None);
    TxEnd {
        xid: b.xid,
        flags: b.flags,
        scn,
        unix_time,
    }
}

/// 5.6 / 5.11: the ktub of the undo record that was applied.
pub fn parse_partial_rollback(cv: &ChangeVector<'_, '_>) -> Result<PartialRollback> {
    let ktub = parse_ktub(cv, 0)?;
    Ok(PartialRollback {
        code: cv.header.code,
        xid: Xid {
            usn: usn(cv)?,
            slot: u16::from(ktub.slot),
            sqn: None,
        },
        ktub,
    })
}

// --- the same facts read straight from a scanned record (no ChangeVector built) ----------
// Each returns None where the full parser would raise: the caller then runs that parser.

/// Absolute offset of field `index` of `slot` (which must exist).
pub fn field_at(slot: &VectorSlot, lengths: &[u16], index: usize) -> usize {
    let mut at = slot.fields_at as usize;
    for &length in slot.lengths(lengths).iter().take(index) {
        at += L::align4(usize::from(length));
    }
    at
}

/// What [`parse_5_2`] returns for `slot` of a record in the 12.1+ layout when `wide`.
pub fn quick_begin(
    data: &[u8],
    slot: &VectorSlot,
    lengths: &[u16],
    e: Endian,
    wide: bool,
) -> Option<TxBegin> {
    let own = slot.lengths(lengths);
    if own.first().is_none_or(|&n| usize::from(n) < KTUDH_MIN) || slot.cls < L::UNDO_CLASS_BASE {
        return None;
    }
    let mut con_uid = None;
    let last = own.len() - 1;
    if wide && last > 0 && usize::from(own[last]) == KTUDH_CON_UID_LEN {
        let found = e.get_u32(data, field_at(slot, lengths, last))?;
        if found != e.get_u32(data, L::RECORD_CON_UID)? {
            return None;
        }
        con_uid = Some(found);
    }
    let usn = usn_of(slot.cls)?;
    Some(begin(e, data, slot.fields_at as usize, usn, con_uid))
}

/// What [`parse_5_4`] returns for `slot`.
pub fn quick_end(data: &[u8], slot: &VectorSlot, lengths: &[u16], e: Endian) -> Option<TxEnd> {
    let own = slot.lengths(lengths);
    if own.first().is_none_or(|&n| usize::from(n) < KTUCM_MIN) || slot.cls < L::UNDO_CLASS_BASE {
        return None;
    }
    let mut unix_time = None;
    if own.len() > 1
        && own
            .last()
            .is_some_and(|&n| usize::from(n) == KTUCM_TIME_FIELD_LEN)
    {
        unix_time = Some(e.get_u32(data, field_at(slot, lengths, own.len() - 1))?);
    }
    let scn = e.scn(data, slot.offset as usize + L::CV_SCN).ok()?;
    Some(end(
        e,
        data,
        slot.fields_at as usize,
        usn_of(slot.cls)?,
        scn,
        unix_time,
    ))
}

/// For a 5.6 / 5.11: (object, undo segment, transaction slot), as
/// [`parse_partial_rollback`] reads them.
pub fn quick_rollback(
    data: &[u8],
    slot: &VectorSlot,
    lengths: &[u16],
    e: Endian,
) -> Option<(u32, u16, u8)> {
    let own = slot.lengths(lengths);
    if own.first().is_none_or(|&n| usize::from(n) < KTUB_MIN) || slot.cls < L::UNDO_CLASS_BASE {
        return None;
    }
    let at = slot.fields_at as usize;
    let obj = e.get_u32(data, at + KTUB_OBJ)?;
    let txn_slot = *data.get(at + KTUB_SLOT)?;
    Some((obj, usn_of(slot.cls)?, txn_slot))
}

/// For a 5.1: the object it changes, and whether it undoes a change of rows (its
/// operation's layer is not in [`NON_ROW_UNDO_LAYERS`]), read as [`parse_5_1`] does.
pub fn quick_undo(
    data: &[u8],
    slot: &VectorSlot,
    lengths: &[u16],
    e: Endian,
) -> Option<(u32, bool)> {
    let own = slot.lengths(lengths);
    if own.len() < 2 || usize::from(own[0]) < KTUDB_MIN || usize::from(own[1]) < KTUB_MIN {
        return None;
    }
    let at = slot.fields_at as usize + L::align4(usize::from(own[0])); // field 1: ktub
    let obj = e.get_u32(data, at + KTUB_OBJ)?;
    let layer = *data.get(at + KTUB_OPC_LAYER)?;
    Some((obj, !NON_ROW_UNDO_LAYERS.contains(&layer)))
}
