//! Time-zone region ids of `TIMESTAMP WITH TIME ZONE` values
//! (`drcapture/values/timezones.py`, which cites the public DUMP() outputs behind each
//! id). An id not listed decodes to the UTC offset form. A test keeps both tables equal.

/// Bit 7 of the value's 12th byte: the last two bytes name a region.
pub const REGION_FLAG: u8 = 0x80;

/// The two bytes as one big-endian number, and the region's name.
pub const REGIONS: &[(u16, &str)] = &[(0x899C, "US/Pacific"), (0x8364, "PST8PDT")];

/// The name of region `id`, if known.
pub fn region_name(id: u16) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(code, _)| *code == id)
        .map(|(_, name)| *name)
}
