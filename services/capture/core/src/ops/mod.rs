//! Operation parsers (`drcapture/redo/ops/`): one module per opcode family, each a
//! function from a [`ChangeVector`] to a plain struct, and the `(layer, code) → parser`
//! table with its counters ([`dispatch`]). Byte for byte the Python parsers, which stay
//! the reference: the same values, the same refusals ([`crate::error::ErrorKind::Undecodable`],
//! which the dispatcher turns into [`dispatch::Op::Undecodable`]) and the same errors with
//! the same location facts.
//!
//! Values borrow the record's bytes (`&'a [u8]`): an operation lives as long as the
//! record it was decoded from, and costs no copy of column data. Field offsets are
//! worked out once per record ([`field_starts`]) into a buffer the caller keeps.

pub mod compressed;
pub mod ddl;
pub mod direct;
pub mod dispatch;
pub mod iot;
pub mod kdli;
pub mod kdo;
pub mod lob;
pub mod undo;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::binary::Endian;
use crate::error::{Error, Result};
use crate::layout as L;
use crate::vectors::{VectorHeader, VectorSlot, parse_vector_header};

/// An Oracle transaction id `usn.slot.sqn`; `sqn` is `None` where the redo names only
/// the slot (partial-rollback vectors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Xid {
    pub usn: u16,
    pub slot: u16,
    pub sqn: Option<u32>,
}

/// One change vector of a record: its header and its fields, borrowed from the record
/// (`'a`) and from the field offsets the caller worked out (`'s`, see [`field_starts`]).
#[derive(Debug, Clone, Copy)]
pub struct ChangeVector<'a, 's> {
    /// 1-based position inside the record, as dumps number them.
    pub index: usize,
    /// The vector header's offset in the record.
    pub offset: usize,
    pub header: VectorHeader,
    /// The whole record.
    pub data: &'a [u8],
    pub endian: Endian,
    lengths: &'s [u16],
    starts: &'s [u32],
}

/// Where each field of each vector of a record starts (absolute offsets, in the order
/// of the record's shared length array): `out` is cleared and filled.
pub fn field_starts(slots: &[VectorSlot], lengths: &[u16], out: &mut Vec<u32>) {
    out.clear();
    out.reserve(lengths.len());
    for slot in slots {
        let mut at = slot.fields_at;
        for &length in slot.lengths(lengths) {
            out.push(at);
            at += L::align4(usize::from(length)) as u32;
        }
    }
}

impl<'a, 's> ChangeVector<'a, 's> {
    /// The vector of `slot` (1-based `index`), its header read; `lengths` and `starts`
    /// are the record's whole arrays (the slot says which part is this vector's).
    pub fn new(
        data: &'a [u8],
        slot: &VectorSlot,
        index: usize,
        lengths: &'s [u16],
        starts: &'s [u32],
        endian: Endian,
        wide: bool,
    ) -> Result<Self> {
        let first = slot.first_length as usize;
        let count = slot.field_count as usize;
        let end = first + count;
        let (Some(lengths), Some(starts)) = (lengths.get(first..end), starts.get(first..end))
        else {
            return Err(
                Error::parse("vector fields outside the record's field arrays")
                    .at("vector", index)
                    .at("found", lengths.len().min(starts.len()))
                    .at("expected", end),
            );
        };
        Ok(ChangeVector {
            index,
            offset: slot.offset as usize,
            header: parse_vector_header(data, slot.offset as usize, endian, wide)?,
            data,
            endian,
            lengths,
            starts,
        })
    }

    /// How many fields the vector has.
    #[inline]
    pub fn field_count(&self) -> usize {
        self.lengths.len()
    }

    /// Length of field `index`, 0 when absent.
    #[inline]
    pub fn field_len(&self, index: usize) -> usize {
        self.lengths.get(index).map_or(0, |&n| usize::from(n))
    }

    /// Field `index`, `None` when absent.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&'a [u8]> {
        let (&start, &length) = (self.starts.get(index)?, self.lengths.get(index)?);
        let start = start as usize;
        self.data.get(start..start + usize::from(length))
    }

    /// Field `index`, exactly its length; a missing field is the Python reader's error.
    pub fn field(&self, index: usize) -> Result<&'a [u8]> {
        self.get(index).ok_or_else(|| {
            Error::parse("vector has fewer fields than the operation needs")
                .at("opcode", self.opcode())
                .at("field", index)
                .at("found", self.field_count())
        })
    }

    /// Absolute offset of field `index` in the record (0 when absent).
    pub fn field_offset(&self, index: usize) -> usize {
        self.starts.get(index).map_or(0, |&n| n as usize)
    }

    /// `"5.1"`: how errors name the vector's operation.
    pub fn opcode(&self) -> String {
        opcode(self.header.layer, self.header.code)
    }

    /// Undo segment of an undo-class block, `None` for other classes.
    pub fn usn(&self) -> Option<u16> {
        usn_of(self.header.cls)
    }
}

/// `"layer.code"`.
pub fn opcode(layer: u8, code: u8) -> String {
    format!("{layer}.{code}")
}

/// The undo segment of block class `cls` (classes from 15 are undo: 15 + 2 * usn or
/// 16 + 2 * usn), `None` below.
#[inline]
pub fn usn_of(cls: u16) -> Option<u16> {
    (cls >= L::UNDO_CLASS_BASE).then(|| (cls - L::UNDO_CLASS_BASE) / 2)
}

/// A transaction id at `at` of `f`: u16 usn, u16 slot, u32 sqn (checked reads).
pub fn read_xid(e: Endian, f: &[u8], at: usize) -> Result<Xid> {
    Ok(Xid {
        usn: e.u16(f, at)?,
        slot: e.u16(f, at + 2)?,
        sqn: Some(e.u32(f, at + 4)?),
    })
}

/// Field `index` when it is at least `size` bytes long (`common.need_field`).
pub fn need_field<'a>(
    cv: &ChangeVector<'a, '_>,
    index: usize,
    size: usize,
    what: &str,
) -> Result<&'a [u8]> {
    if cv.field_len(index) < size {
        return Err(Error::parse(format!("{what} field too short"))
            .at("opcode", cv.opcode())
            .at("field", index)
            .at("expected", size)
            .at("found", cv.field_len(index)));
    }
    cv.field(index)
}

/// Byte `at` of a field the caller checked to be long enough (0 otherwise: never read).
#[inline(always)]
pub(crate) fn byte(f: &[u8], at: usize) -> u8 {
    f.get(at).copied().unwrap_or(0)
}

/// A u16 the caller checked to be inside `f` (0 otherwise: never read).
#[inline(always)]
pub(crate) fn u16_in(e: Endian, f: &[u8], at: usize) -> u16 {
    e.get_u16(f, at).unwrap_or(0)
}

/// A u32 the caller checked to be inside `f` (0 otherwise: never read).
#[inline(always)]
pub(crate) fn u32_in(e: Endian, f: &[u8], at: usize) -> u32 {
    e.get_u32(f, at).unwrap_or(0)
}

/// A hasher for small integer keys (opcodes, object numbers): one multiply and rotate per
/// integer (FxHash's scheme), several times cheaper than the default SipHash on the hot
/// path. Keys come from redo and the dictionary; no map here is keyed by outside input
/// that could be chosen to collide.
#[derive(Debug, Default, Clone, Copy)]
pub struct IntHasher(u64);

impl IntHasher {
    #[inline(always)]
    fn add(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for IntHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// A `HashMap` with [`IntHasher`].
pub type IntMap<K, V> = HashMap<K, V, BuildHasherDefault<IntHasher>>;
