//! Time-zone offsets of a region at a UTC instant, computed from the same TZif data and
//! with the same rules as Python's `zoneinfo` (which the Python decoder uses): the
//! transition table, the zone's rule before its first transition, and its POSIX TZ
//! string after the last one. Everything that `zoneinfo` refuses makes the zone unknown
//! here too (the decoder then uses offset 0, as the Python one does).

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
enum RuleDate {
    /// `Jn` (julian: no Feb 29) or `n` (zero-based day of year).
    Day { d: i64, julian: bool },
    /// `Mm.w.d`: day `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month { m: i64, w: i64, d: i64 },
}

#[derive(Debug, Clone, Copy)]
struct Transition {
    date: RuleDate,
    seconds: i64, // time of day (may be negative or past 24 h)
}

impl Transition {
    fn year_to_epoch(&self, year: i64) -> i64 {
        let days = match self.date {
            RuleDate::Day { d, julian } => {
                let d = if julian && d >= 59 && is_leap(year) {
                    d + 1
                } else {
                    d
                };
                post_epoch_days_before_year(year) + d
            }
            RuleDate::Month { m, w, d } => {
                let first_weekday = (ordinal(year, m, 1) + 6).rem_euclid(7); // 0 = Monday
                let mut month_day = (d - (first_weekday + 1)).rem_euclid(7) + 1;
                month_day += (w - 1) * 7;
                if month_day > days_in_month(year, m) {
                    month_day -= 7;
                }
                let leap = i64::from(m > 2 && is_leap(year));
                post_epoch_days_before_year(year) + DAYS_BEFORE_MONTH[m as usize] + leap + month_day
            }
        };
        days * 86_400 + self.seconds
    }
}

#[derive(Debug, Clone, Copy)]
struct TzRule {
    std: i64,
    dst: i64,
    start: Transition,
    end: Transition,
}

impl TzRule {
    fn dst_diff(&self) -> i64 {
        self.dst - self.std
    }

    fn in_dst(start: i64, end: i64, ts: i64) -> bool {
        if start < end {
            start <= ts && ts < end
        } else {
            !(end <= ts && ts < start)
        }
    }

    /// `_get_trans_info`: the offset at local time `ts` of `year`.
    fn offset_local(&self, ts: i64, year: i64, fold: bool) -> i64 {
        let (mut start, mut end) = (self.start.year_to_epoch(year), self.end.year_to_epoch(year));
        let diff = self.dst_diff();
        if fold == (diff >= 0) {
            end -= diff;
        } else {
            start += diff;
        }
        if Self::in_dst(start, end, ts) {
            self.dst
        } else {
            self.std
        }
    }

    /// `_get_trans_info_fromutc`: the offset and fold at UTC time `ts` of `year`.
    fn offset_utc(&self, ts: i64, year: i64) -> (i64, bool) {
        let start = self.start.year_to_epoch(year) - self.std;
        let end = self.end.year_to_epoch(year) - self.dst;
        let isdst = Self::in_dst(start, end, ts);
        let diff = self.dst_diff();
        let (a, b) = if diff > 0 {
            (end, end + diff)
        } else {
            (start, start - diff)
        };
        (if isdst { self.dst } else { self.std }, a <= ts && ts < b)
    }
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

/// Digits `[+-]?\d{1,3}(:\d{2}(:\d{2})?)?` from the start of `s`: (sign, h, m, s, used).
fn hms(s: &[u8]) -> Option<(bool, i64, i64, i64, usize)> {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = |from: usize, max: usize| -> (i64, usize) {
        let n = s[from..]
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let v = s[from..from + n]
            .iter()
            .fold(0i64, |a, &b| a * 10 + i64::from(b - b'0'));
        (v, n)
    };
    let (h, n) = digits(i, 3);
    if n == 0 {
        return None;
    }
    i += n;
    let (mut m, mut sec) = (0, 0);
    if s.get(i) == Some(&b':') && digits(i + 1, 2).1 == 2 {
        m = digits(i + 1, 2).0;
        i += 3;
        if s.get(i) == Some(&b':') && digits(i + 1, 2).1 == 2 {
            sec = digits(i + 1, 2).0;
            i += 3;
        }
    }
    Some((negative, h, m, sec, i))
}

/// An abbreviation: `[^<0-9:.+-]+` (std) or `[^0-9:.+-]+` (dst), or `<[a-zA-Z0-9+-]+>`.
fn abbr(s: &[u8], dst: bool) -> Option<usize> {
    if s.first() == Some(&b'<') {
        if let Some(close) = s.iter().position(|&b| b == b'>') {
            let inner = &s[1..close];
            if !inner.is_empty()
                && inner
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'-')
            {
                return Some(close + 1);
            }
        }
        if !dst {
            return None;
        }
    }
    let excluded =
        |b: u8| b.is_ascii_digit() || matches!(b, b':' | b'.' | b'+' | b'-') || (!dst && b == b'<');
    let n = s.iter().take_while(|&&b| !excluded(b)).count();
    if n == 0 { None } else { Some(n) }
}

/// `_parse_tz_delta`: POSIX offsets are west-positive ("PST8" is UTC-8).
fn tz_delta(s: &[u8]) -> Option<(i64, usize)> {
    let (negative, h, m, sec, used) = hms(s)?;
    if h > 24 {
        return None;
    }
    let total = h * 3600 + m * 60 + sec;
    Some((if negative { total } else { -total }, used))
}

fn parse_transition(text: &str) -> Option<Transition> {
    let (date, time) = match text.split_once('/') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let b = date.as_bytes();
    let rule = if b.first() == Some(&b'M') {
        // M(\d{1,2})\.(\d).(\d)
        let rest = &b[1..];
        let n = rest
            .iter()
            .take(2)
            .take_while(|c| c.is_ascii_digit())
            .count();
        let ok = n > 0
            && rest.len() == n + 4
            && rest[n] == b'.'
            && rest[n + 1].is_ascii_digit()
            && rest[n + 3].is_ascii_digit();
        if !ok {
            return None;
        }
        let m = std::str::from_utf8(&rest[..n]).ok()?.parse::<i64>().ok()?;
        let w = i64::from(rest[n + 1] - b'0');
        let d = i64::from(rest[n + 3] - b'0');
        if !(1..=12).contains(&m) || !(1..=5).contains(&w) || !(0..=6).contains(&d) {
            return None;
        }
        RuleDate::Month { m, w, d }
    } else {
        let (julian, digits) = match date.strip_prefix('J') {
            Some(r) => (true, r),
            None => (false, date),
        };
        let d: i64 = digits.parse().ok()?;
        if !(i64::from(julian)..=365).contains(&d) {
            return None;
        }
        RuleDate::Day { d, julian }
    };
    let seconds = match time {
        None => 2 * 3600,
        Some(t) => {
            let (negative, h, m, s, used) = hms(t.as_bytes())?;
            if used != t.len() || h > 167 {
                return None;
            }
            let total = h * 3600 + m * 60 + s;
            if negative { -total } else { total }
        }
    };
    Some(Transition {
        date: rule,
        seconds,
    })
}

/// `_parse_tz_str`: `std offset [dst [offset] ,start[/time],end[/time]]`.
fn parse_tz_str(text: &str) -> Option<After> {
    let (offsets, rules) = match text.split_once(',') {
        Some((o, r)) => (o, Some(r)),
        None => (text, None),
    };
    let s = offsets.as_bytes();
    let mut i = abbr(s, false)?;
    let mut std = 0;
    let mut dst_offset = None;
    let mut has_dst = false;
    if i < s.len() {
        let (o, used) = tz_delta(&s[i..])?;
        std = o;
        i += used;
        if i < s.len() {
            i += abbr(&s[i..], true)?;
            has_dst = true;
            if i < s.len() {
                let (o, used) = tz_delta(&s[i..])?;
                dst_offset = Some(o);
                i += used;
            }
        }
    }
    if i != s.len() {
        return None;
    }
    if !has_dst {
        return if rules.is_some() {
            None
        } else {
            Some(After::Fixed(std))
        };
    }
    let dst = dst_offset.unwrap_or(std + 3600);
    let (a, b) = rules?.split_once(',')?;
    Some(After::Rule(TzRule {
        std,
        dst,
        start: parse_transition(a)?,
        end: parse_transition(b)?,
    }))
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

    #[test]
    fn posix_rule() {
        let After::Rule(r) = parse_tz_str("PST8PDT,M3.2.0,M11.1.0").unwrap() else {
            panic!()
        };
        assert_eq!((r.std, r.dst), (-28_800, -25_200));
        // 2024-07-01T00:00Z is summer time in California
        assert_eq!(r.offset_utc(1_719_792_000, 2024).0, -25_200);
        assert_eq!(r.offset_utc(1_704_067_200, 2024).0, -28_800);
    }
}
