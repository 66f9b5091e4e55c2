//! 19.1 direct loader blocks (`ops/direct.py`): rows of table blocks written by a
//! direct-path load.

use super::kdo::{Column, RowImage, read_row_column};
use super::{ChangeVector, need_field, u16_in, u32_in};
use crate::error::{Error, Result};

pub const COLB_BLOCK_TYPE: usize = 0; // u8 (field 0, block image): 1 = table data block
pub const COLB_OBJ: usize = 4; // u32: data object number
pub const COLB_ITC: usize = 16; // u16: interested transaction list entries
pub const COLB_BDBA: usize = 20; // u32: block address
pub const COLB_HEADER: usize = 24; // the ITL follows, 24 bytes per entry; then the data header
pub const COLB_ITL_ENTRY: usize = 24;
pub const COLB_TABLE_BLOCK: u8 = 1;
pub const COLB_DATA_NTAB: usize = 1; // u8 (data header): tables in the block
pub const COLB_DATA_NROW: usize = 2; // u16: rows in the block
pub const COLB_DATA_PTI: usize = 14; // 4 bytes per table; then one u16 per row
pub const COLB_DATA_ROWS: usize = 18;
pub const COLB_BLOCK_IMAGE: u8 = 0x06; // first byte of field 1 marking a table block image

/// 19.1: a block written by a direct-path load, with its rows when it is a table block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectLoad<'a> {
    pub data_obj: u32,
    pub bdba: u32,
    pub rows: Vec<RowImage<'a>>,
    pub table_block: bool,
}

/// 19.1 direct loader block: rows of a table block image (other blocks: no rows).
pub fn parse_19_1<'a>(cv: &ChangeVector<'a, '_>) -> Result<DirectLoad<'a>> {
    let f = cv.field(0)?;
    let e = cv.endian;
    let image =
        cv.field_count() > 1 && cv.get(1).and_then(|g| g.first()) == Some(&COLB_BLOCK_IMAGE);
    if !image || f.len() < COLB_HEADER || f[COLB_BLOCK_TYPE] != COLB_TABLE_BLOCK {
        // Every block image names its data object at 4.
        let data_obj = e.get_u32(f, COLB_OBJ).unwrap_or(cv.header.data_obj);
        return Ok(DirectLoad {
            data_obj,
            bdba: 0,
            rows: Vec::new(),
            table_block: false,
        });
    }
    let itc = usize::from(u16_in(e, f, COLB_ITC));
    let data = (COLB_HEADER + itc * COLB_ITL_ENTRY + 7) & !7;
    need_field(cv, 0, data + COLB_DATA_ROWS, "direct loader data header")?;
    let nrow = u16_in(e, f, data + COLB_DATA_NROW);
    let ntab = f[data + COLB_DATA_NTAB];
    if ntab != 1 {
        return Err(Error::undecodable(
            "direct-load block with more than one table (a compressed block): its symbol table and column order are not decoded",
        )
        .at("opcode", "19.1")
        .at("field", 0)
        .at("offset", data + COLB_DATA_NTAB)
        .at("found", ntab)
        .at("expected", 1));
    }
    let rows_at = data + COLB_DATA_PTI + 4 * usize::from(ntab);
    let mut rows = Vec::with_capacity(usize::from(nrow));
    for r in 0..nrow {
        let at = rows_at + 2 * usize::from(r);
        let row_at = data + usize::from(e.u16(f, at)?);
        if row_at + 3 > f.len() {
            return Err(Error::parse("direct-load row outside the block")
                .at("row", r)
                .at("offset", row_at));
        }
        let (fb, cc) = (f[row_at], f[row_at + 2]);
        let mut pos = row_at + 3;
        let mut columns = Vec::with_capacity(usize::from(cc));
        for c in 0..u32::from(cc) {
            let (value, next) = read_row_column(f, pos, e)?;
            pos = next;
            columns.push(Column { index: c, value });
        }
        rows.push(RowImage {
            slot: r,
            fb,
            columns,
        });
    }
    Ok(DirectLoad {
        data_obj: u32_in(e, f, COLB_OBJ),
        bdba: u32_in(e, f, COLB_BDBA),
        rows,
        table_block: true,
    })
}
