//! DATE (12), TIMESTAMP (180), WITH TIME ZONE (181) and WITH LOCAL TIME ZONE (231)
//! (`drcapture/values/datetimes.py`, which cites the layout's sources): century and year
//! plus 100, month, day, hour/minute/second plus 1, big-endian nanoseconds, and for WITH
//! TIME ZONE the UTC stamp plus an hour/minute offset or a region id.

use std::collections::HashMap;
use std::fmt::Write;

use super::calendar::{day_number, from_day_number, is_valid_date, iso_year};
use super::timezones::{REGION_FLAG, region_name};
use super::tz::{Zone, ordinal};
use crate::error::{Error, Result, hex_upper};

const TZ_HOUR_BIAS: i64 = 20;
const TZ_MINUTE_BIAS: i64 = 60;
/// Oracle's default fractional-second precision.
pub const DEFAULT_TIMESTAMP_SCALE: i64 = 6;

/// year, month, day, hour, minute, second, nanoseconds
type Stamp = (i64, i64, i64, i64, i64, i64, i64);

/// The time-zone rules region names resolve to (loaded once, from the same TZif files
/// Python's `zoneinfo` reads; a region without data gets offset 0, as in Python).
#[derive(Debug, Clone, Default)]
pub struct TimeZones {
    zones: HashMap<String, Zone>,
}

impl TimeZones {
    /// Rules from TZif file contents by region name (unreadable ones are left out).
    pub fn from_tzif(files: &[(String, Vec<u8>)]) -> Self {
        let zones = files
            .iter()
            .filter_map(|(name, data)| Zone::from_tzif(data).map(|z| (name.clone(), z)))
            .collect();
        TimeZones { zones }
    }

    /// Whether `region` has rules.
    pub fn knows(&self, region: &str) -> bool {
        self.zones.contains_key(region)
    }

    /// Seconds east of UTC of `region` at the UTC stamp `utc` (0 where unknown, or
    /// outside 1583..9998 where Python's datetime and the Gregorian calendar end).
    fn region_offset(&self, utc: &Stamp, region: &str) -> i64 {
        let Some(zone) = self.zones.get(region) else {
            return 0;
        };
        if !(1583..=9998).contains(&utc.0) {
            return 0;
        }
        let days = ordinal(utc.0, utc.1, utc.2) - 719_163;
        zone.offset_at(days * 86_400 + utc.3 * 3600 + utc.4 * 60 + utc.5)
    }
}

fn unpack(raw: &[u8], type_name: &str) -> Result<Stamp> {
    let f = |i: usize| i64::from(raw[i]);
    let nanos = if raw.len() >= 11 {
        i64::from(u32::from_be_bytes([raw[7], raw[8], raw[9], raw[10]]))
    } else {
        0
    };
    let stamp = (
        (f(0) - 100) * 100 + f(1) - 100,
        f(2),
        f(3),
        f(4) - 1,
        f(5) - 1,
        f(6) - 1,
        nanos,
    );
    let (y, mo, d, h, mi, s, n) = stamp;
    let clock_ok = (0..=23).contains(&h) && (0..=59).contains(&mi) && (0..=59).contains(&s);
    if !(is_valid_date(y, mo, d) && clock_ok) || n > 999_999_999 {
        return Err(Error::malformed(format!("invalid {type_name}")).at("hex", hex_upper(raw)));
    }
    Ok(stamp)
}

/// Append `.ddd…`: the column's precision, never fewer digits than the nanoseconds need.
pub fn fraction(nanos: u64, scale: i64, out: &mut String) {
    let digits = format!("{nanos:09}");
    let needed = digits.trim_end_matches('0').len() as i64;
    let keep = scale.max(needed).min(digits.len() as i64);
    if keep > 0 {
        out.push('.');
        out.push_str(&digits[..keep as usize]);
    }
}

fn render(stamp: &Stamp, scale: i64, out: &mut String) {
    let (y, mo, d, h, mi, s, n) = *stamp;
    iso_year(y, out);
    let _ = write!(out, "-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    fraction(n as u64, scale, out);
}

fn render_offset(seconds: i64, out: &mut String) {
    let sign = if seconds < 0 { '-' } else { '+' };
    let abs = seconds.abs();
    let (hours, rest) = (abs / 3600, abs % 3600);
    let (minutes, secs) = (rest / 60, rest % 60);
    let _ = write!(out, "{sign}{hours:02}:{minutes:02}");
    if secs != 0 {
        let _ = write!(out, ":{secs:02}");
    }
}

fn shift(stamp: &Stamp, seconds: i64) -> Stamp {
    let (y, mo, d, h, mi, s, n) = *stamp;
    let total = h * 3600 + mi * 60 + s + seconds;
    let (days, rest) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    let (y, mo, d) = from_day_number(day_number(y, mo, d) + days);
    (y, mo, d, rest / 3600, rest % 3600 / 60, rest % 60, n)
}

/// Append the ISO 8601 text of a 7-byte DATE.
pub fn decode_date(raw: &[u8], out: &mut String) -> Result<()> {
    if raw.len() != 7 {
        return Err(Error::malformed("DATE must be 7 bytes").at("hex", hex_upper(raw)));
    }
    render(&unpack(raw, "DATE")?, 0, out);
    Ok(())
}

/// Append the ISO 8601 text of a TIMESTAMP (or WITH LOCAL TIME ZONE) of 7 or 11 bytes.
pub fn decode_timestamp(raw: &[u8], scale: Option<i64>, out: &mut String) -> Result<()> {
    if raw.len() != 7 && raw.len() != 11 {
        return Err(Error::malformed("TIMESTAMP must be 7 or 11 bytes").at("hex", hex_upper(raw)));
    }
    render(
        &unpack(raw, "TIMESTAMP")?,
        scale.unwrap_or(DEFAULT_TIMESTAMP_SCALE),
        out,
    );
    Ok(())
}

/// Append the ISO 8601 text, with offset and known region, of a 13-byte TIMESTAMP WITH
/// TIME ZONE.
pub fn decode_timestamp_tz(
    raw: &[u8],
    scale: Option<i64>,
    zones: &TimeZones,
    out: &mut String,
) -> Result<()> {
    if raw.len() != 13 {
        return Err(
            Error::malformed("TIMESTAMP WITH TIME ZONE must be 13 bytes").at("hex", hex_upper(raw)),
        );
    }
    let utc = unpack(raw, "TIMESTAMP WITH TIME ZONE")?;
    let precision = scale.unwrap_or(DEFAULT_TIMESTAMP_SCALE);
    let (tz_hi, tz_lo) = (raw[11], raw[12]);
    if tz_hi & REGION_FLAG != 0 {
        let Some(region) = region_name(u16::from_be_bytes([tz_hi, tz_lo])) else {
            render(&utc, precision, out); // unknown id: the exact instant, in UTC
            out.push_str("+00:00");
            return Ok(());
        };
        let offset = zones.region_offset(&utc, region);
        render(&shift(&utc, offset), precision, out);
        render_offset(offset, out);
        let _ = write!(out, "[{region}]");
        return Ok(());
    }
    let offset = ((i64::from(tz_hi) - TZ_HOUR_BIAS) * 60 + i64::from(tz_lo) - TZ_MINUTE_BIAS) * 60;
    render(&shift(&utc, offset), precision, out);
    render_offset(offset, out);
    Ok(())
}
