//! Oracle's calendar (`drcapture/values/calendar.py`): years -4712..9999 without a year
//! 0, Julian before 1582-10-15 and Gregorian from then; day arithmetic on Julian Day
//! Numbers (Fliegel and Van Flandern's integer formulas). Divisions floor, as Python's.

const GREGORIAN_START_JDN: i64 = 2_299_161; // 1582-10-15 in the Gregorian calendar
const MONTH_DAYS: [i64; 13] = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

#[inline]
fn fdiv(a: i64, b: i64) -> i64 {
    a.div_euclid(b) // b > 0 everywhere here: Euclid's quotient is the floor
}

/// Oracle's signed year to astronomical numbering (-1 → 0).
pub fn oracle_to_astronomical(year: i64) -> i64 {
    if year < 0 { year + 1 } else { year }
}

/// Astronomical year to Oracle's signed year (0 → -1).
pub fn astronomical_to_oracle(year: i64) -> i64 {
    if year <= 0 { year - 1 } else { year }
}

/// Append the ISO 8601 year field: four digits, a minus sign before BC years.
pub fn iso_year(oracle_year: i64, out: &mut String) {
    use std::fmt::Write;
    let year = oracle_to_astronomical(oracle_year);
    if year >= 0 {
        let _ = write!(out, "{year:04}");
    } else {
        let _ = write!(out, "-{:04}", -year);
    }
}

/// Julian Day Number of an Oracle date.
pub fn day_number(year: i64, month: i64, day: i64) -> i64 {
    let astro = oracle_to_astronomical(year);
    let a = fdiv(14 - month, 12);
    let y = astro + 4800 - a;
    let m = month + 12 * a - 3;
    let days = day + fdiv(153 * m + 2, 5) + 365 * y + fdiv(y, 4);
    if (year, month, day) >= (1582, 10, 15) {
        days - fdiv(y, 100) + fdiv(y, 400) - 32045
    } else {
        days - 32083
    }
}

/// The Oracle date (signed year, month, day) of a Julian Day Number.
pub fn from_day_number(jdn: i64) -> (i64, i64, i64) {
    let (b, c) = if jdn >= GREGORIAN_START_JDN {
        let a = jdn + 32044;
        let b = fdiv(4 * a + 3, 146_097);
        (b, a - fdiv(146_097 * b, 4))
    } else {
        (0, jdn + 32082)
    };
    let d = fdiv(4 * c + 3, 1461);
    let e = c - fdiv(1461 * d, 4);
    let m = fdiv(5 * e + 2, 153);
    let day = e - fdiv(153 * m + 2, 5) + 1;
    let month = m + 3 - 12 * fdiv(m, 10);
    let astro = 100 * b + d - 4800 + fdiv(m, 10);
    (astronomical_to_oracle(astro), month, day)
}

/// Whether the date exists in Oracle's calendar (no year 0, no 1582-10-05..14).
pub fn is_valid_date(year: i64, month: i64, day: i64) -> bool {
    if year == 0 || !(-4712..=9999).contains(&year) || !(1..=12).contains(&month) || day < 1 {
        return false;
    }
    if year > 1582 {
        if month == 2 {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            return day <= if leap { 29 } else { 28 };
        }
        return day <= MONTH_DAYS[month as usize];
    }
    from_day_number(day_number(year, month, day)) == (year, month, day)
}
