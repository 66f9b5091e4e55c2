//! Layer 11 (row operations, kdo; `ops/kdo.py`): the KTB redo field, the kdo op header
//! and the row data of every 11.x operation, for redo vectors and for the row op inside
//! an undo record (5.1). Offsets inside the kdo field; sources in docs/REDO_FORMAT.md.

mod parse;

use super::compressed::CompressedRow;
use super::{ChangeVector, Xid, u16_in, u32_in};
use crate::binary::Endian;
use crate::error::{Error, Result};

// --- KTB redo field ----------------------------------------------------------------------
pub const KTB_OP: usize = 0; // u8: 0x01/0x11 'F' (carries the XID), 0x02 'C', 0x03 'Z' …
pub const KTB_FLAGS: usize = 1; // u8: 0x08 set = 8-byte prefix before the XID, else 4
pub const KTB_MIN: usize = 8;

// --- kdo op header (first 16 bytes of every kdo field) -----------------------------------
pub const KDO_BDBA: usize = 0; // u32: block holding the row piece
pub const KDO_HDBA: usize = 4; // u32: segment header block
pub const KDO_OP: usize = 10; // u8: low 5 bits = 11.x code, 0x40 = row dependencies
pub const KDO_FLAGS: usize = 11; // u8: 0x80 = KDOM2 (columns packed in one field)
pub const KDO_HEADER: usize = 16;
pub const KDO_OP_MASK: u8 = 0x1F;
pub const KDO_ROWDEPS: u8 = 0x40;
pub const KDO_KDOM2: u8 = 0x80;

// --- IRP / ORP (11.2 / 11.6) --------------------------------------------------------------
pub const IRP_FB: usize = 16; // u8: row flag byte
pub const IRP_CC: usize = 18; // u8: column count of the piece
pub const IRP_HRID_BDBA: usize = 20; // u32: head row id block
pub const IRP_HRID_SLOT: usize = 24; // u16
pub const IRP_NRID_BDBA: usize = 28; // u32: next piece block (when fb has no L)
pub const IRP_NRID_SLOT: usize = 32; // u16
pub const IRP_SIZE: usize = 40; // u16: size/delta
pub const IRP_SLOT: usize = 42; // u16: slot in the block
pub const IRP_TABN: usize = 44; // u8: table number in a cluster
pub const IRP_NULLS: usize = 45; // bitmap, one bit per column, set = NULL
pub const IRP_MIN: usize = 48;
pub const IMAGE_FB: usize = 0; // a whole row image starts like a block row: fb, lb, cc
pub const IMAGE_CC: usize = 2;

// --- DRP / LKR (11.3 / 11.4) --------------------------------------------------------------
pub const DRP_SLOT: usize = 16; // u16
pub const DRP_TABN: usize = 18; // u8
pub const DRP_MIN: usize = 20;

// --- URP (11.5) -----------------------------------------------------------------------------
pub const URP_FB: usize = 16; // u8
pub const URP_TABN: usize = 19; // u8
pub const URP_SLOT: usize = 20; // u16
pub const URP_NCOL: usize = 22; // u8: columns in the row piece
pub const URP_NNEW: usize = 23; // u8: columns changed
pub const URP_NULLS: usize = 26; // bitmap over the changed columns
pub const URP_MIN: usize = 28;

// --- CFA (11.8) -----------------------------------------------------------------------------
pub const CFA_NRID_BDBA: usize = 16; // u32
pub const CFA_NRID_SLOT: usize = 20; // u16
pub const CFA_SLOT: usize = 24; // u16
pub const CFA_TABN: usize = 27; // u8
pub const CFA_MIN: usize = 32;

// --- QMI / QMD (11.11 / 11.12) ------------------------------------------------------------
pub const QM_TABN: usize = 16; // u8
pub const QM_NROW: usize = 18; // u8
pub const QM_SLOTS: usize = 20; // u16 per row
pub const QM_MIN: usize = 24;

// --- row flag byte (fb) ---------------------------------------------------------------------
pub const FB_CLUSTER_KEY: u8 = 0x80; // K
pub const FB_CLUSTERED: u8 = 0x40; // C
pub const FB_HEAD: u8 = 0x20; // H
pub const FB_DELETED: u8 = 0x10; // D
pub const FB_FIRST: u8 = 0x08; // F
pub const FB_LAST: u8 = 0x04; // L
pub const FB_PREV: u8 = 0x02; // P
pub const FB_NEXT: u8 = 0x01; // N

/// Layer 11 operation codes (kdocts) this module decodes.
pub mod code {
    pub const IUR: u8 = 1;
    pub const IRP: u8 = 2;
    pub const DRP: u8 = 3;
    pub const LKR: u8 = 4;
    pub const URP: u8 = 5;
    pub const ORP: u8 = 6;
    pub const CFA: u8 = 8;
    pub const QMI: u8 = 11;
    pub const QMD: u8 = 12;
    pub const LLB: u8 = 17;
}

/// The KTB redo field that opens every row change: op kind and, for 'F', the XID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KtbRedo {
    pub op: u8,
    pub flags: u8,
    pub xid: Option<Xid>,
}

/// One column of a row piece: position (inside the piece, or as listed) and raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<'a> {
    pub index: u32,
    pub value: Option<&'a [u8]>,
}

/// A whole row of a multi-row op (or a direct-load block): its slot, flags, columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowImage<'a> {
    pub slot: u16,
    pub fb: u8,
    pub columns: Vec<Column<'a>>,
}

/// A decoded 11.x operation (in a redo vector or inside an undo record); the fields of
/// `kdo.RowOp`, see there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOp<'a> {
    pub code: u8,
    pub bdba: u32,
    pub slot: u16,
    pub fb: u8,
    pub flags: u8,
    pub tabn: u8,
    pub cc: u8,
    pub columns: Vec<Column<'a>>,
    pub rows: Vec<RowImage<'a>>,
    pub nrid: Option<(u32, u16)>,
    pub hrid: Option<(u32, u16)>,
    pub packed: Option<CompressedRow<'a>>,
    /// The first field after this op's data (supplemental data follows there in undo).
    pub next_field: usize,
    pub ktb: Option<KtbRedo>,
}

impl RowOp<'_> {
    /// The row image is in compressed-block format (see `packed`).
    pub fn compressed(&self) -> bool {
        self.packed.is_some()
    }

    /// The columns were packed into one field.
    pub fn kdom2(&self) -> bool {
        self.flags & KDO_KDOM2 != 0
    }
}

/// The KTB redo field at `index` (`None` when too short to say anything).
pub fn parse_ktb(cv: &ChangeVector<'_, '_>, index: usize) -> Option<KtbRedo> {
    if cv.field_len(index) < KTB_MIN {
        return None;
    }
    let f = cv.get(index)?;
    let (op, flags) = (f[KTB_OP], f[KTB_FLAGS]);
    let mut xid = None;
    if op == 0x01 || op == 0x11 {
        let start = if flags & 0x08 != 0 { 8 } else { 4 };
        if f.len() >= start + 8 {
            let e = cv.endian;
            xid = Some(Xid {
                usn: u16_in(e, f, start),
                slot: u16_in(e, f, start + 2),
                sqn: Some(u32_in(e, f, start + 4)),
            });
        }
    }
    Some(KtbRedo { op, flags, xid })
}

/// One column in row format at `pos`: length byte (0xFF NULL, 0xFE: u16 length follows);
/// the value and the position after it.
pub fn read_row_column(data: &[u8], pos: usize, e: Endian) -> Result<(Option<&[u8]>, usize)> {
    let Some(&size) = data.get(pos) else {
        return Err(Error::parse("row data ends before its columns").at("offset", pos));
    };
    let mut pos = pos + 1;
    if size == 0xFF {
        return Ok((None, pos));
    }
    let mut size = usize::from(size);
    if size == 0xFE {
        size = usize::from(e.u16(data, pos)?);
        pos += 2;
    }
    match data.get(pos..pos + size) {
        Some(value) => Ok((Some(value), pos + size)),
        None => Err(Error::parse("column runs past the row data")
            .at("offset", pos)
            .at("expected", size)),
    }
}

/// Decode the kdo field at `kdo_index` and the fields that belong to it.
pub fn parse_row_op<'a>(
    cv: &ChangeVector<'a, '_>,
    kdo_index: usize,
    ktb: Option<KtbRedo>,
) -> Result<RowOp<'a>> {
    let kdo = cv.field(kdo_index)?;
    if kdo.len() < KDO_HEADER {
        return Err(Error::parse("kdo op header too short")
            .at("field", kdo_index)
            .at("found", kdo.len()));
    }
    parse::row_op(cv, kdo_index, kdo, ktb)
}

/// The flag byte as dumps print it, e.g. `--H-FL--`.
pub fn fb_text(fb: u8) -> String {
    "KCHDFLPN"
        .chars()
        .enumerate()
        .map(|(i, ch)| if fb & (0x80 >> i) != 0 { ch } else { '-' })
        .collect()
}
