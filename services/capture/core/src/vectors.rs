//! Change vectors (`drcapture/redo/vectors.py`): the header (24 bytes up to 11g, 32 from
//! 12.1), the field-length array and the 4-byte aligned fields after it.
//!
//! [`scan_vectors`] is the walk every record gets: it checks the layout and notes where
//! each vector and its fields are ([`VectorSlot`]); field lengths of all vectors of a
//! record go to one shared array, so a record costs no allocation once the buffers grew.

use crate::binary::Endian;
use crate::error::{Error, Result};
use crate::layout as L;

/// Where one change vector sits in its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorSlot {
    /// The vector header (offset in the record).
    pub offset: u32,
    pub layer: u8,
    pub code: u8,
    /// Block class (undo classes give the undo segment).
    pub cls: u16,
    /// Change type (0x80: encrypted).
    pub typ: u8,
    /// Field 0 (after the field-length array).
    pub fields_at: u32,
    /// The field lengths: `lengths[first_length..first_length + field_count]`.
    pub first_length: u32,
    pub field_count: u32,
    /// The next vector.
    pub end: u32,
}

impl VectorSlot {
    /// This vector's unpadded field lengths within the record's shared array.
    pub fn lengths<'a>(&self, lengths: &'a [u16]) -> &'a [u16] {
        let start = self.first_length as usize;
        lengths
            .get(start..start + self.field_count as usize)
            .unwrap_or(&[])
    }
}

/// The fixed part of a change vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorHeader {
    pub layer: u8,
    pub code: u8,
    pub cls: u16,
    pub afn: u16,
    pub dba: u32,
    pub scn: u64,
    pub seq: u8,
    pub typ: u8,
    pub data_obj: u32,
    pub con_id: Option<u16>,
    pub flags: Option<u16>,
}

fn opcode(layer: u8, code: u8) -> String {
    format!("{layer}.{code}")
}

/// Read a change-vector header at `offset`; a read past the end names the first field
/// that does not fit, as the Python reader's field-by-field reads do.
pub fn parse_vector_header(
    data: &[u8],
    offset: usize,
    endian: Endian,
    wide: bool,
) -> Result<VectorHeader> {
    let e = endian;
    let layer = e.u8(data, offset + L::CV_LAYER)?;
    let code = e.u8(data, offset + L::CV_CODE)?;
    let cls = e.u16(data, offset + L::CV_CLASS)?;
    let afn = e.u16(data, offset + L::CV_AFN)?;
    let dba = e.u32(data, offset + L::CV_DBA)?;
    let scn = e.scn(data, offset + L::CV_SCN)?;
    let seq = e.u8(data, offset + L::CV_SEQ)?;
    let typ = e.u8(data, offset + L::CV_TYPE)?;
    let high = u32::from(e.u16(data, offset + L::CV_OBJ_HIGH)?);
    let low = u32::from(e.u16(data, offset + L::CV_OBJ_LOW)?);
    let (con_id, flags) = if wide {
        (
            Some(e.u16(data, offset + L::CV_CON_ID)?),
            Some(e.u16(data, offset + L::CV_FLAGS)?),
        )
    } else {
        (None, None)
    };
    Ok(VectorHeader {
        layer,
        code,
        cls,
        afn,
        dba,
        scn,
        seq,
        typ,
        data_obj: (high << 16) | low,
        con_id,
        flags,
    })
}

/// Every change vector between `start` and `end`, checked and located (appended to
/// `slots`, their field lengths to `lengths`; both cleared first).
///
/// Errors are the Python reader's: a header or fields running past `end` are
/// `CorruptRedo`; a field-length array running past the buffer is the `ParseError` of the
/// first length that cannot be read.
pub fn scan_vectors(
    data: &[u8],
    start: usize,
    end: usize,
    endian: Endian,
    wide: bool,
    slots: &mut Vec<VectorSlot>,
    lengths: &mut Vec<u16>,
) -> Result<()> {
    slots.clear();
    lengths.clear();
    let head = if wide {
        L::CV_HEADER_12C
    } else {
        L::CV_HEADER_11G
    };
    let available = data.len();
    let mut offset = start;
    while offset < end {
        if offset + head + 2 > end {
            return Err(Error::corrupt("change vector header runs past the record")
                .at("offset", offset)
                .at("expected", head + 2)
                .at("found", end - offset));
        }
        // offset + head + 2 <= end <= len(data) for every caller; get() keeps it panic-free.
        let (Some(&layer), Some(&code), Some(cls), Some(&typ), Some(array_size)) = (
            data.get(offset + L::CV_LAYER),
            data.get(offset + L::CV_CODE),
            endian.get_u16(data, offset + L::CV_CLASS),
            data.get(offset + L::CV_TYPE),
            endian.get_u16(data, offset + head),
        ) else {
            // Only reachable when end > len(data): the Python side's checked reads.
            parse_vector_header(data, offset, endian, wide)?;
            return Err(read_past(offset + head, 2, available));
        };
        let array_at = offset + head;
        let array_size = usize::from(array_size);
        if array_size < 2 || array_size & 1 != 0 {
            return Err(Error::corrupt("bad field-length array size")
                .at("offset", offset)
                .at("opcode", opcode(layer, code))
                .at("found", array_size));
        }
        let count = (array_size - 2) >> 1;
        if array_at + array_size > available {
            // The first length that cannot be read, as a field-by-field read finds it.
            let mut at = array_at + 2;
            while at + 2 <= available {
                at += 2;
            }
            return Err(read_past(at, 2, available));
        }
        let first_length = lengths.len();
        let mut total = 0usize;
        for i in 0..count {
            let length = endian.get_u16(data, array_at + 2 + 2 * i).unwrap_or(0);
            lengths.push(length);
            total += L::align4(usize::from(length));
        }
        let fields_at = array_at + L::align4(array_size);
        let pos = fields_at + total;
        if pos > end {
            lengths.truncate(first_length);
            return Err(Error::corrupt("change vector fields run past the record")
                .at("offset", offset)
                .at("opcode", opcode(layer, code))
                .at("expected", pos - offset)
                .at("found", end - offset));
        }
        slots.push(VectorSlot {
            offset: offset as u32,
            layer,
            code,
            cls,
            typ,
            fields_at: fields_at as u32,
            first_length: first_length as u32,
            field_count: count as u32,
            end: pos as u32,
        });
        offset = pos;
    }
    Ok(())
}

fn read_past(offset: usize, size: usize, available: usize) -> Error {
    Error::parse("read past the end of the buffer")
        .at("offset", offset)
        .at("size", size)
        .at("available", available)
}
