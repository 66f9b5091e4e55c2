//! POSIX TZ strings (the footer of a TZif file): `std offset [dst [offset]
//! ,start[/time],end[/time]]`, parsed and evaluated the way Python's `zoneinfo` does
//! (`_parse_tz_str`, `_TZStr`), for instants after a zone's last transition.

use super::{
    After, DAYS_BEFORE_MONTH, days_in_month, is_leap, ordinal, post_epoch_days_before_year,
};

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
pub(super) struct TzRule {
    pub(super) std: i64,
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
    pub(super) fn offset_local(&self, ts: i64, year: i64, fold: bool) -> i64 {
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
    pub(super) fn offset_utc(&self, ts: i64, year: i64) -> (i64, bool) {
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
pub(super) fn parse_tz_str(text: &str) -> Option<After> {
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
