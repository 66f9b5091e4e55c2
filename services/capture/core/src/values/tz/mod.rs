//! Time-zone offsets of a region at a UTC instant, computed from the same TZif data and
//! with the same rules as Python's `zoneinfo` (which the Python decoder uses): the
//! transition table, the zone's rule before its first transition, and its POSIX TZ
//! string after the last one. Everything that `zoneinfo` refuses makes the zone unknown
//! here too (the decoder then uses offset 0, as the Python one does).

mod posix;

use posix::{TzRule, parse_tz_str};

const EPOCH_ORDINAL: i64 = 719_163; // date(1970, 1, 1).toordinal()
const DAYS_BEFORE_MONTH: [i64; 13] = [-1, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Proleptic Gregorian ordinal (0001-01-01 is 1), as `date.toordinal()`.
pub fn ordinal(year: i64, month: i64, day: i64) -> i64 {
    let y = year - 1;
    let leap = i64::from(month > 2 && is_leap(year));
    y * 365 + y.div_euclid(4) - y.div_euclid(100)
        + y.div_euclid(400)
        + DAYS_BEFORE_MONTH[month as usize]
        + 1
        + leap
        + day
        - 1
}

/// `(date, time)` of a count of seconds since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_seconds(ts: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = ts.div_euclid(86_400);
    let rest = ts.rem_euclid(86_400);
    // Howard Hinnant's days_from_civil inverse
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rest / 3600, rest % 3600 / 60, rest % 60)
}

fn post_epoch_days_before_year(year: i64) -> i64 {
    let y = year - 1;
    y * 365 + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) - EPOCH_ORDINAL
}

#[derive(Debug, Clone, Copy)]
enum After {
    Fixed(i64),
    Rule(TzRule),
}

/// One region's rules, loaded from its TZif file.
#[derive(Debug, Clone)]
pub struct Zone {
    trans_utc: Vec<i64>,
    trans_local: [Vec<i64>; 2],
    offsets: Vec<i64>, // utc offset in force from each transition
    before: Option<i64>,
    after: After,
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let out = self.data.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }

    fn i32(&mut self) -> Option<i64> {
        let b = self.take(4)?;
        Some(i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }

    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.i32()?).ok()
    }
}

struct TzifHeader {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

fn read_header(c: &mut Cursor<'_>) -> Option<TzifHeader> {
    if c.take(4)? != b"TZif" {
        return None;
    }
    let v = c.take(1)?[0];
    let version = match v {
        0 => 1,
        b'1'..=b'9' => v - b'0',
        _ => return None,
    };
    c.take(15)?;
    Some(TzifHeader {
        version,
        isutcnt: c.count()?,
        isstdcnt: c.count()?,
        leapcnt: c.count()?,
        timecnt: c.count()?,
        typecnt: c.count()?,
        charcnt: c.count()?,
    })
}

impl Zone {
    /// A zone from the bytes of its TZif file; `None` where `zoneinfo` would refuse it.
    pub fn from_tzif(data: &[u8]) -> Option<Zone> {
        let mut c = Cursor { data, at: 0 };
        let mut h = read_header(&mut c)?;
        let wide = h.version != 1;
        if wide {
            let skip =
                h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
            c.take(skip)?;
            h = read_header(&mut c)?;
        }
        let mut trans_utc = Vec::with_capacity(h.timecnt);
        for _ in 0..h.timecnt {
            let t = if wide {
                let b = c.take(8)?;
                i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            } else {
                c.i32()?
            };
            trans_utc.push(t);
        }
        let trans_idx: Vec<usize> = c.take(h.timecnt)?.iter().map(|&b| usize::from(b)).collect();
        let mut utcoff = Vec::with_capacity(h.typecnt);
        let mut isdst = Vec::with_capacity(h.typecnt);
        for _ in 0..h.typecnt {
            utcoff.push(c.i32()?);
            let rest = c.take(2)?;
            isdst.push(rest[0] != 0);
        }
        c.take(h.charcnt)?;
        let tz_str = if h.version >= 2 {
            c.take(h.isutcnt + h.isstdcnt + h.leapcnt * 12)?;
            if c.take(1)? != b"\n" {
                return None;
            }
            let rest = &data[c.at..];
            let end = rest.iter().position(|&b| b == b'\n')?;
            Some(std::str::from_utf8(&rest[..end]).ok()?.to_owned())
        } else {
            None
        };
        let offsets: Vec<i64> = trans_idx
            .iter()
            .map(|&i| utcoff.get(i).copied())
            .collect::<Option<_>>()?;
        let trans_local = to_local(&trans_idx, &trans_utc, &utcoff);
        let before = match isdst.iter().position(|&d| !d) {
            Some(i) => Some(utcoff[i]),
            None => offsets.first().copied(),
        };
        let after = match tz_str.as_deref() {
            Some(s) if !s.is_empty() => parse_tz_str(s)?,
            _ => After::Fixed(*offsets.last().or(utcoff.last())?),
        };
        Some(Zone {
            trans_utc,
            trans_local,
            offsets,
            before,
            after,
        })
    }

    /// Seconds east of UTC at the UTC instant `ts` (seconds since 1970), as
    /// `datetime.astimezone(zone).utcoffset()` gives it: `fromutc`, then the offset of
    /// that local time with its fold.
    pub fn offset_at(&self, ts: i64) -> i64 {
        let (utc_year, ..) = civil_from_seconds(ts);
        let (offset, fold) = self.utc_offset_fold(ts, utc_year);
        let local = ts + offset;
        let (local_year, ..) = civil_from_seconds(local);
        self.find_local(local, local_year, fold)
    }

    fn utc_offset_fold(&self, ts: i64, year: i64) -> (i64, bool) {
        let n = self.trans_utc.len();
        if n >= 1 && ts < self.trans_utc[0] {
            return (self.before.unwrap_or(0), false);
        }
        if n == 0 || ts > self.trans_utc[n - 1] {
            match self.after {
                After::Rule(rule) => return rule.offset_utc(ts, year),
                After::Fixed(o) if n == 0 => return (o, false),
                After::Fixed(_) => {}
            }
        }
        let idx = self.trans_utc.partition_point(|&t| t <= ts); // bisect_right
        let (prev, cur) = if n > 1 && ts >= self.trans_utc[1] {
            (self.offsets[idx - 2], self.offsets[idx - 1])
        } else if ts > self.trans_utc[n - 1] {
            (self.offsets[n - 1], self.after_fixed())
        } else {
            (self.before.unwrap_or(0), self.offsets[0])
        };
        let shift = prev - cur;
        (cur, shift > ts - self.trans_utc[idx - 1])
    }

    fn after_fixed(&self) -> i64 {
        match self.after {
            After::Fixed(o) => o,
            After::Rule(r) => r.std,
        }
    }

    fn find_local(&self, ts: i64, year: i64, fold: bool) -> i64 {
        let lt = &self.trans_local[usize::from(fold)];
        let n = lt.len();
        if n > 0 && ts < lt[0] {
            return self.before.unwrap_or(0);
        }
        if n == 0 || ts > lt[n - 1] {
            return match self.after {
                After::Rule(rule) => rule.offset_local(ts, year, fold),
                After::Fixed(o) => o,
            };
        }
        let idx = lt.partition_point(|&t| t <= ts) - 1;
        self.offsets[idx]
    }
}

/// `_ts_to_local`: transition times in local wall time, for fold 0 and fold 1.
fn to_local(idx: &[usize], utc: &[i64], utcoff: &[i64]) -> [Vec<i64>; 2] {
    if utc.is_empty() {
        return [Vec::new(), Vec::new()];
    }
    let off = |i: usize| utcoff.get(i).copied().unwrap_or(0);
    let mut wall = [utc.to_vec(), utc.to_vec()];
    let (mut o0, mut o1) = if utcoff.len() > 1 {
        (off(0), off(idx[0]))
    } else {
        (off(0), off(0))
    };
    if o1 > o0 {
        std::mem::swap(&mut o0, &mut o1);
    }
    wall[0][0] += o0;
    wall[1][0] += o1;
    for i in 1..idx.len() {
        let (mut o0, mut o1) = (off(idx[i - 1]), off(idx[i]));
        if o1 > o0 {
            std::mem::swap(&mut o0, &mut o1);
        }
        wall[0][i] += o0;
        wall[1][i] += o1;
    }
    wall
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for ts in [-86_400 * 365 * 400, -1, 0, 1, 951_782_400, 253_402_300_799] {
            let (y, m, d, hh, mm, ss) = civil_from_seconds(ts);
            let back = (ordinal(y, m, d) - EPOCH_ORDINAL) * 86_400 + hh * 3600 + mm * 60 + ss;
            assert_eq!(back, ts);
        }
    }
}
