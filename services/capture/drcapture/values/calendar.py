"""Oracle's calendar and the ISO 8601 text of its dates.

Oracle counts years -4712..9999 without a year 0 and switches from the Julian to the
Gregorian calendar on 1582-10-15 (the day after 1582-10-04). ISO 8601 text uses
astronomical year numbering, so Oracle's year -1 (1 BC) is written ``0000`` and -4712
is written ``-4711``. Python's ``datetime`` covers neither BC dates nor the Julian
part, so day arithmetic (needed to apply a time-zone offset) is done here on day
numbers (Julian Day Numbers, Fliegel and Van Flandern's integer formulas).
"""

from __future__ import annotations

_GREGORIAN_START_JDN = 2299161  # 1582-10-15 in the Gregorian calendar
_GREGORIAN_START = (1582, 10, 15)
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def oracle_to_astronomical(year: int) -> int:
    """Oracle's signed year to astronomical numbering (-1 → 0, -4712 → -4711)."""
    return year + 1 if year < 0 else year


def astronomical_to_oracle(year: int) -> int:
    """Astronomical year to Oracle's signed year (0 → -1)."""
    return year - 1 if year <= 0 else year


def iso_year(oracle_year: int) -> str:
    """The ISO 8601 year field: four digits, a minus sign before BC years."""
    year = oracle_to_astronomical(oracle_year)
    return f"{year:04d}" if year >= 0 else f"-{-year:04d}"


def day_number(year: int, month: int, day: int) -> int:
    """Julian Day Number of an Oracle date (Oracle's signed year)."""
    astro = oracle_to_astronomical(year)
    a = (14 - month) // 12
    y = astro + 4800 - a
    m = month + 12 * a - 3
    days = day + (153 * m + 2) // 5 + 365 * y + y // 4
    if (year, month, day) >= _GREGORIAN_START:
        return days - y // 100 + y // 400 - 32045
    return days - 32083


def from_day_number(jdn: int) -> tuple[int, int, int]:
    """The Oracle date (signed year, month, day) of a Julian Day Number."""
    if jdn >= _GREGORIAN_START_JDN:
        a = jdn + 32044
        b = (4 * a + 3) // 146097
        c = a - 146097 * b // 4
    else:
        b = 0
        c = jdn + 32082
    d = (4 * c + 3) // 1461
    e = c - 1461 * d // 4
    m = (5 * e + 2) // 153
    day = e - (153 * m + 2) // 5 + 1
    month = m + 3 - 12 * (m // 10)
    astro = 100 * b + d - 4800 + m // 10
    return astronomical_to_oracle(astro), month, day


def is_valid_date(year: int, month: int, day: int) -> bool:
    """Whether the date exists in Oracle's calendar (no year 0, no 1582-10-05..14)."""
    if year == 0 or not -4712 <= year <= 9999 or not 1 <= month <= 12 or day < 1:
        return False
    if year > 1582:  # the common case, plain Gregorian: no day-number round trip
        if month == 2:
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            return day <= (29 if leap else 28)
        return day <= _MONTH_DAYS[month]
    return from_day_number(day_number(year, month, day)) == (year, month, day)
