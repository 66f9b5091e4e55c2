//! Endian-aware integer, SCN and redo-time readers (`drcapture/redo/binary.py`). A read
//! past the end is a `ParseError` naming offset, size and what was available.

use crate::error::{Error, Result};

/// The largest SCN: all bits set ("none" / "not yet known").
pub const SCN_MAX: u64 = u64::MAX;

/// A redo file's byte order (the platform of the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    Little,
    Big,
}

#[inline]
fn need(buf: &[u8], off: usize, size: usize) -> Result<()> {
    match off.checked_add(size) {
        Some(end) if end <= buf.len() => Ok(()),
        _ => Err(Error::parse("read past the end of the buffer")
            .at("offset", off)
            .at("size", size)
            .at("available", buf.len())),
    }
}

/// `N` bytes at `off`, or `None` past the end.
#[inline(always)]
pub fn bytes_at<const N: usize>(buf: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    let slice = buf.get(off..end)?;
    let mut out = [0u8; N];
    out.copy_from_slice(slice);
    Some(out)
}

impl Endian {
    /// The Python side's name of the order (`ByteOrder` values).
    pub fn symbol(self) -> &'static str {
        match self {
            Endian::Little => "<",
            Endian::Big => ">",
        }
    }

    /// A u16 from two bytes in this order.
    #[inline(always)]
    pub fn u16_of(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// A u32 from four bytes in this order.
    #[inline(always)]
    pub fn u32_of(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// A u16 at `off`, `None` past the end (for paths that checked the bounds already).
    #[inline(always)]
    pub fn get_u16(self, buf: &[u8], off: usize) -> Option<u16> {
        bytes_at::<2>(buf, off).map(|b| self.u16_of(b))
    }

    /// A u32 at `off`, `None` past the end.
    #[inline(always)]
    pub fn get_u32(self, buf: &[u8], off: usize) -> Option<u32> {
        bytes_at::<4>(buf, off).map(|b| self.u32_of(b))
    }

    /// One unsigned byte (checked).
    pub fn u8(self, buf: &[u8], off: usize) -> Result<u8> {
        need(buf, off, 1)?;
        buf.get(off)
            .copied()
            .ok_or_else(|| Error::parse("unreachable"))
    }

    /// An unsigned 16-bit integer (checked).
    pub fn u16(self, buf: &[u8], off: usize) -> Result<u16> {
        need(buf, off, 2)?;
        self.get_u16(buf, off)
            .ok_or_else(|| Error::parse("unreachable"))
    }

    /// An unsigned 32-bit integer (checked).
    pub fn u32(self, buf: &[u8], off: usize) -> Result<u32> {
        need(buf, off, 4)?;
        self.get_u32(buf, off)
            .ok_or_else(|| Error::parse("unreachable"))
    }

    /// An 8-byte SCN as headers and vectors store it: base u32, wrap u16, extension u16.
    /// A flagged wrap (12.2+ big SCN) holds bits 48..62 and the extension bits 32..47;
    /// six FF bytes are [`SCN_MAX`].
    pub fn scn(self, buf: &[u8], off: usize) -> Result<u64> {
        need(buf, off, 8)?;
        let b = bytes_at::<8>(buf, off).ok_or_else(|| Error::parse("unreachable"))?;
        Ok(self.scn_of(b))
    }

    /// [`Endian::scn`] of eight bytes in hand.
    #[inline]
    pub fn scn_of(self, b: [u8; 8]) -> u64 {
        if b[..6].iter().all(|&x| x == 0xFF) {
            return SCN_MAX;
        }
        let base = u64::from(self.u32_of([b[0], b[1], b[2], b[3]]));
        let wrap = u64::from(self.u16_of([b[4], b[5]]));
        if wrap & 0x8000 != 0 {
            let ext = u64::from(self.u16_of([b[6], b[7]]));
            return base | (ext << 32) | ((wrap & 0x7FFF) << 48);
        }
        base | (wrap << 32)
    }

    /// A 6-byte SCN as a record header stores it: wrap u16, then base u32.
    pub fn record_scn(self, buf: &[u8], off: usize) -> Result<u64> {
        need(buf, off, 6)?;
        let b = bytes_at::<6>(buf, off).ok_or_else(|| Error::parse("unreachable"))?;
        let wrap = u32::from(self.u16_of([b[0], b[1]]));
        let base = self.u32_of([b[2], b[3], b[4], b[5]]);
        Ok(record_scn_of(wrap, base))
    }

    /// An undo byte address: (dba u32, sequence u16, record u8).
    pub fn uba(self, buf: &[u8], off: usize) -> Result<(u32, u16, u8)> {
        need(buf, off, 7)?;
        Ok((
            self.u32(buf, off)?,
            self.u16(buf, off + 4)?,
            self.u8(buf, off + 6)?,
        ))
    }
}

/// The record-header SCN from its wrap and base (all-FF is [`SCN_MAX`]).
#[inline]
pub fn record_scn_of(wrap: u32, base: u32) -> u64 {
    if wrap == 0xFFFF && base == 0xFFFF_FFFF {
        return SCN_MAX;
    }
    let (wrap, base) = (u64::from(wrap), u64::from(base));
    if wrap & 0x8000 != 0 {
        return base | ((wrap & 0x7FFF) << 48);
    }
    base | (wrap << 32)
}

/// A moment of Oracle's redo clock, checked to be a real date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedoTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

fn gregorian_days(year: i64, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Decode Oracle's redo time: seconds since 1988-01-01 in a calendar of 31-day months;
/// `None` for 0. A value that names no real date (Feb 30) is a `ParseError`.
pub fn redo_time(encoded: u32) -> Result<Option<RedoTime>> {
    if encoded == 0 {
        return Ok(None);
    }
    let mut t = u64::from(encoded);
    let second = (t % 60) as u8;
    t /= 60;
    let minute = (t % 60) as u8;
    t /= 60;
    let hour = (t % 24) as u8;
    t /= 24;
    let day = (t % 31 + 1) as u8;
    t /= 31;
    let month = (t % 12 + 1) as u8;
    t /= 12;
    let year = t as i64 + 1988; // at most 2121 for a u32
    if day > gregorian_days(year, month) {
        return Err(Error::parse("redo time does not name a real date").at("value", encoded));
    }
    Ok(Some(RedoTime {
        year: year as u16,
        month,
        day,
        hour,
        minute,
        second,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scn_forms() {
        let e = Endian::Little;
        assert_eq!(e.scn(&[0xFF; 8], 0).unwrap(), SCN_MAX);
        assert_eq!(e.scn(&[1, 0, 0, 0, 2, 0, 0, 0], 0).unwrap(), (2 << 32) | 1);
        assert_eq!(
            e.scn(&[1, 0, 0, 0, 2, 0x80, 3, 0], 0).unwrap(),
            1 | (3 << 32) | (2 << 48)
        );
        assert_eq!(e.record_scn(&[2, 0, 1, 0, 0, 0], 0).unwrap(), (2 << 32) | 1);
        assert!(e.scn(&[0; 7], 0).is_err());
    }

    #[test]
    fn redo_times() {
        assert_eq!(redo_time(0).unwrap(), None);
        let t = redo_time(1).unwrap().unwrap();
        assert_eq!((t.year, t.month, t.day, t.second), (1988, 1, 1, 1));
        // 1988-02-30: day index 29 of month index 1
        let bad = ((31 + 29) * 24) * 3600;
        assert!(redo_time(bad).is_err());
        assert!(redo_time(u32::MAX).is_ok() || redo_time(u32::MAX).is_err());
    }
}
