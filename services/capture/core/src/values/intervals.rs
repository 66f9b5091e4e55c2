//! INTERVAL YEAR TO MONTH (182, 5 bytes) and DAY TO SECOND (183, 11 bytes)
//! (`drcapture/values/intervals.py`): four-byte fields big-endian plus 0x80000000,
//! one-byte fields plus 60; text an ISO 8601 duration with every field and the sign.

use std::fmt::Write;

use crate::error::{Error, Fact, Result, hex_upper};

const MID: i64 = 0x8000_0000;
const OFFSET: i64 = 60;
const DEFAULT_SECONDS_SCALE: i64 = 6;

fn sign(fields: &[i64]) -> Result<&'static str> {
    if fields.iter().any(|&f| f < 0) {
        if fields.iter().any(|&f| f > 0) {
            return Err(Error::malformed("interval fields disagree in sign").at(
                "fields",
                Fact::Ints(fields.iter().map(|&f| i128::from(f)).collect()),
            ));
        }
        return Ok("-");
    }
    Ok("")
}

fn be32(raw: &[u8], at: usize) -> i64 {
    i64::from(u32::from_be_bytes([
        raw[at],
        raw[at + 1],
        raw[at + 2],
        raw[at + 3],
    ]))
}

/// Append the ISO 8601 duration of an INTERVAL YEAR TO MONTH.
pub fn decode_interval_ym(raw: &[u8], out: &mut String) -> Result<()> {
    if raw.len() != 5 {
        return Err(
            Error::malformed("INTERVAL YEAR TO MONTH must be 5 bytes").at("hex", hex_upper(raw))
        );
    }
    let years = be32(raw, 0) - MID;
    let months = i64::from(raw[4]) - OFFSET;
    if months.abs() > 11 {
        return Err(Error::malformed("INTERVAL months out of range").at("hex", hex_upper(raw)));
    }
    let s = sign(&[years, months])?;
    let _ = write!(out, "{s}P{}Y{}M", years.abs(), months.abs());
    Ok(())
}

/// Append the ISO 8601 duration of an INTERVAL DAY TO SECOND (`scale`: the column's
/// fractional-second precision, 6 when unknown).
pub fn decode_interval_ds(raw: &[u8], scale: Option<i64>, out: &mut String) -> Result<()> {
    if raw.len() != 11 {
        return Err(
            Error::malformed("INTERVAL DAY TO SECOND must be 11 bytes").at("hex", hex_upper(raw))
        );
    }
    let days = be32(raw, 0) - MID;
    let hours = i64::from(raw[4]) - OFFSET;
    let minutes = i64::from(raw[5]) - OFFSET;
    let seconds = i64::from(raw[6]) - OFFSET;
    let nanos = be32(raw, 7) - MID;
    if hours.abs() > 23 || minutes.abs() > 59 || seconds.abs() > 59 || nanos.abs() > 999_999_999 {
        return Err(
            Error::malformed("INTERVAL DAY TO SECOND field out of range").at("hex", hex_upper(raw)),
        );
    }
    let s = sign(&[days, hours, minutes, seconds, nanos])?;
    let _ = write!(
        out,
        "{s}P{}DT{}H{}M{}",
        days.abs(),
        hours.abs(),
        minutes.abs(),
        seconds.abs()
    );
    super::datetimes::fraction(
        nanos.unsigned_abs(),
        scale.unwrap_or(DEFAULT_SECONDS_SCALE),
        out,
    );
    out.push('S');
    Ok(())
}
