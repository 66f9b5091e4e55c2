//! Oracle column values: exact decoding from Oracle's internal bytes, one module per type
//! family (`drcapture/values/`). Each decoder appends its text to a `String` the caller
//! owns, so the serialiser can write values straight into its output.

pub mod binary;
pub mod calendar;
pub mod datetimes;
pub mod ieee;
pub mod intervals;
pub mod lob;
pub mod number;
pub mod rowid;
pub mod text;
pub mod timezones;
pub mod tz;
