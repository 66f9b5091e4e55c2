//! The row data of each 11.x operation (`kdo.py`'s `_parse_*`): one [`Kdo`] per kdo field
//! being decoded, a method per operation family.

use super::*;
use crate::binary::Endian;
use crate::error::{Error, Fact, Result};
use crate::ops::compressed::{in_compressed_block, parse_compressed_row};
use crate::ops::{ChangeVector, u16_in, u32_in};

#[inline]
fn bit(bitmap: &[u8], start: usize, i: usize) -> bool {
    bitmap
        .get(start + i / 8)
        .is_some_and(|b| b & (1 << (i % 8)) != 0)
}

fn field_value<'a>(cv: &ChangeVector<'a, '_>, index: usize) -> Option<&'a [u8]> {
    cv.get(index).filter(|v| !v.is_empty())
}

fn packed_columns<'a>(
    cv: &ChangeVector<'a, '_>,
    index: usize,
    count: usize,
    first: u32,
) -> Result<Vec<Column<'a>>> {
    let data = cv.field(index)?;
    let mut pos = 0;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let index = first + i as u32;
        if pos >= data.len() {
            out.push(Column { index, value: None }); // trailing NULLs are not stored
            continue;
        }
        let (value, next) = read_row_column(data, pos, cv.endian)?;
        pos = next;
        out.push(Column { index, value });
    }
    Ok(out)
}

/// The op of the kdo field `kdo` (checked to hold its header) at `kdo_index`.
pub(super) fn row_op<'a>(
    cv: &ChangeVector<'a, '_>,
    kdo_index: usize,
    kdo: &'a [u8],
    ktb: Option<KtbRedo>,
) -> Result<RowOp<'a>> {
    let op = Kdo {
        cv,
        i: kdo_index,
        kdo,
        ktb,
        code: kdo[KDO_OP] & KDO_OP_MASK,
        e: cv.endian,
    };
    match op.code {
        code::IRP | code::ORP => op.irp(),
        code::DRP | code::LKR => op.drp(),
        code::URP => op.urp(),
        code::CFA => op.cfa(),
        code::QMI => op.qmi(),
        code::QMD => op.qmd(),
        _ => Ok(op.base()), // LMN, SKL …: header only
    }
}

/// One kdo field being decoded.
struct Kdo<'a, 'v, 's> {
    cv: &'v ChangeVector<'a, 's>,
    i: usize,
    kdo: &'a [u8],
    ktb: Option<KtbRedo>,
    code: u8,
    e: Endian,
}

impl<'a> Kdo<'a, '_, '_> {
    /// The op with the header's facts and nothing else (`_base` without keywords).
    fn base(&self) -> RowOp<'a> {
        RowOp {
            code: self.code,
            bdba: u32_in(self.e, self.kdo, KDO_BDBA),
            slot: 0,
            fb: 0,
            flags: self.kdo[KDO_FLAGS],
            tabn: 0,
            cc: 0,
            columns: Vec::new(),
            rows: Vec::new(),
            nrid: None,
            hrid: None,
            packed: None,
            next_field: self.i + 1,
            ktb: self.ktb,
        }
    }

    fn need(&self, size: usize) -> Result<()> {
        if self.kdo.len() < size {
            return Err(Error::parse("kdo field too short for its operation")
                .at("opcode", format!("11.{}", self.code))
                .at("expected", size)
                .at("found", self.kdo.len()));
        }
        Ok(())
    }

    fn refuse(&self, what: &'static str, field: usize, found: String) -> Error {
        Error::undecodable(what)
            .at("opcode", format!("11.{}", self.code))
            .at("field", field)
            .at("found", found)
    }

    fn u16(&self, at: usize) -> u16 {
        u16_in(self.e, self.kdo, at)
    }

    fn u32(&self, at: usize) -> u32 {
        u32_in(self.e, self.kdo, at)
    }

    /// The field after the kdo holds the whole row as a block stores it.
    fn whole_row_image(&self, first: usize, fb: u8, cc: u8, size: usize) -> bool {
        if cc == 0 || first >= self.cv.field_count() || self.cv.field_len(first) != size {
            return false;
        }
        let image = self.cv.get(first).unwrap_or(&[]);
        size > IMAGE_CC && image[IMAGE_FB] == fb && image[IMAGE_CC] == cc
    }

    /// `count` columns, one field each from field `first`, NULL where the bitmap at
    /// `kdo[at..]` says so or the field is missing; an empty field is NULL too.
    fn row_columns(&self, first: usize, count: usize, at: usize) -> Vec<Column<'a>> {
        (0..count)
            .map(|c| {
                let null = bit(self.kdo, at, c);
                let value = if null {
                    None
                } else {
                    field_value(self.cv, first + c)
                };
                Column {
                    index: c as u32,
                    value,
                }
            })
            .collect()
    }

    fn irp(&self) -> Result<RowOp<'a>> {
        self.need(IRP_MIN)?;
        let kdo = self.kdo;
        let (fb, cc, tabn, flags) = (kdo[IRP_FB], kdo[IRP_CC], kdo[IRP_TABN], kdo[KDO_FLAGS]);
        let size = usize::from(self.u16(IRP_SIZE));
        let first = self.i + 1;
        let mut op = self.base();
        let compressed_block = in_compressed_block(fb, tabn);
        if self.whole_row_image(first, fb, cc, size) {
            if !compressed_block {
                return Err(self.refuse(
                    "whole row image in one field for a row of table 0: layout not established",
                    first,
                    format!("tabn {tabn}, {size} bytes"),
                ));
            }
            let at: [(&'static str, Fact); 2] = [
                ("opcode", format!("11.{}", self.code).into()),
                ("field", first.into()),
            ];
            op.packed = Some(parse_compressed_row(self.cv.field(first)?, &at)?);
            op.next_field = first + 1;
        } else if compressed_block && cc != 0 {
            return Err(self.refuse(
                "row of a compressed block's data table logged column by column: the block's column order is not in the redo",
                first,
                format!("tabn {tabn}, cc {cc}"),
            ));
        } else if flags & KDO_KDOM2 != 0 {
            op.columns = packed_columns(self.cv, first, usize::from(cc), 0)?;
            op.next_field = first + 1;
        } else {
            op.columns = self.row_columns(first, usize::from(cc), IRP_NULLS);
            op.next_field = first + usize::from(cc);
        }
        if fb & FB_LAST == 0 {
            op.nrid = Some((self.u32(IRP_NRID_BDBA), self.u16(IRP_NRID_SLOT)));
        }
        if fb & FB_FIRST != 0 && fb & FB_HEAD == 0 {
            op.hrid = Some((self.u32(IRP_HRID_BDBA), self.u16(IRP_HRID_SLOT)));
        }
        op.slot = self.u16(IRP_SLOT);
        (op.fb, op.tabn, op.cc) = (fb, tabn, cc);
        Ok(op)
    }

    fn drp(&self) -> Result<RowOp<'a>> {
        self.need(DRP_MIN)?;
        let mut op = self.base();
        op.slot = self.u16(DRP_SLOT);
        op.tabn = self.kdo[DRP_TABN];
        Ok(op)
    }

    fn urp(&self) -> Result<RowOp<'a>> {
        self.need(URP_MIN)?;
        let (cv, kdo) = (self.cv, self.kdo);
        let nnew = usize::from(kdo[URP_NNEW]);
        let first = self.i + 1;
        if in_compressed_block(kdo[URP_FB], kdo[URP_TABN]) {
            return Err(self.refuse(
                "update of a row in a compressed block's data table: its column numbers follow the block's column order, which the redo does not carry",
                self.i,
                format!("tabn {}", kdo[URP_TABN]),
            ));
        }
        let mut op = self.base();
        if kdo[KDO_FLAGS] & KDO_KDOM2 != 0 {
            let start = match cv.get(first) {
                Some(f) if f.len() >= 2 => u32::from(u16_in(self.e, f, 0)),
                _ => 0,
            };
            if first + 1 < cv.field_count() {
                op.columns = packed_columns(cv, first + 1, nnew, start)?;
            }
            op.next_field = first + 2;
        } else {
            let numbers = cv.get(first).unwrap_or(&[]);
            let listed = numbers.len() / 2;
            let (mut total, mut present) = (nnew, nnew);
            if listed > nnew && first + listed < cv.field_count() {
                total = listed; // trailing NULL columns are listed but carry no field
            } else {
                present = 0;
                for k in 0..nnew {
                    let at = first + 1 + k;
                    if bit(kdo, URP_NULLS, k) && at < cv.field_count() && cv.field_len(at) > 0 {
                        break; // this field is not a column: the row data ended early
                    }
                    present += 1;
                }
            }
            op.columns = (0..total)
                .map(|k| Column {
                    index: if k < listed {
                        u32::from(u16_in(self.e, numbers, 2 * k))
                    } else {
                        k as u32
                    },
                    value: if k < present {
                        field_value(cv, first + 1 + k)
                    } else {
                        None
                    },
                })
                .collect();
            op.next_field = first + 1 + present;
        }
        op.slot = self.u16(URP_SLOT);
        op.fb = kdo[URP_FB];
        op.tabn = kdo[URP_TABN];
        op.cc = kdo[URP_NCOL];
        Ok(op)
    }

    fn cfa(&self) -> Result<RowOp<'a>> {
        self.need(CFA_MIN)?;
        let mut op = self.base();
        op.slot = self.u16(CFA_SLOT);
        op.tabn = self.kdo[CFA_TABN];
        op.nrid = Some((self.u32(CFA_NRID_BDBA), self.u16(CFA_NRID_SLOT)));
        Ok(op)
    }

    fn qm_slots(&self, nrow: usize) -> Result<Vec<u16>> {
        self.need(QM_SLOTS + 2 * nrow)?;
        Ok((0..nrow).map(|r| self.u16(QM_SLOTS + 2 * r)).collect())
    }

    fn qmi(&self) -> Result<RowOp<'a>> {
        self.need(QM_MIN)?;
        let kdo = self.kdo;
        let nrow = kdo[QM_NROW];
        let slots = self.qm_slots(usize::from(nrow))?;
        let data = self.cv.field(self.i + 2)?;
        if nrow != 0 && !data.is_empty() && in_compressed_block(data[0], kdo[QM_TABN]) {
            return Err(self.refuse(
                "multi-row insert into a compressed block's data table: its rows are in the block's column order, which the redo does not carry",
                self.i + 2,
                format!("tabn {}", kdo[QM_TABN]),
            ));
        }
        let scn_size = if kdo[KDO_OP] & KDO_ROWDEPS != 0 { 8 } else { 0 };
        let mut pos = 0;
        let mut rows = Vec::with_capacity(usize::from(nrow));
        for (r, &slot) in slots.iter().enumerate() {
            if pos + 3 > data.len() {
                return Err(Error::parse("multi-insert row data too short")
                    .at("row", r)
                    .at("offset", pos));
            }
            let (fb, cc) = (data[pos], data[pos + 2]);
            pos += 3 + scn_size;
            let mut columns = Vec::with_capacity(usize::from(cc));
            for c in 0..u32::from(cc) {
                let (value, next) = read_row_column(data, pos, self.e)?;
                pos = next;
                columns.push(Column { index: c, value });
            }
            rows.push(RowImage { slot, fb, columns });
        }
        let mut op = self.base();
        op.tabn = kdo[QM_TABN];
        op.cc = nrow;
        op.rows = rows;
        op.next_field = self.i + 3;
        Ok(op)
    }

    fn qmd(&self) -> Result<RowOp<'a>> {
        self.need(QM_MIN)?;
        let nrow = self.kdo[QM_NROW];
        let slots = self.qm_slots(usize::from(nrow))?;
        let mut op = self.base();
        op.tabn = self.kdo[QM_TABN];
        op.cc = nrow;
        op.rows = slots
            .into_iter()
            .map(|slot| RowImage {
                slot,
                fb: 0,
                columns: Vec::new(),
            })
            .collect();
        Ok(op)
    }
}
