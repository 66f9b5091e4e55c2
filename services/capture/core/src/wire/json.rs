//! JSON text exactly as capture's Python publisher writes it: strings escaped the way
//! orjson escapes them, integers in decimal, and date-times in the two forms the records
//! carry (pydantic's JSON mode in bodies, `datetime.isoformat()` in the `commit_ts`
//! header).
//!
//! orjson writes UTF-8 through unchanged (no `\u` escapes for non-ASCII, U+2028/U+2029
//! or DEL included) and escapes only `"`, `\` and the control characters below U+0020:
//! `\b`, `\t`, `\n`, `\f`, `\r` in short form, the others as `\u00XX` with lower-case hex
//! digits. A Rust `str` cannot hold a lone surrogate, which orjson refuses; Python text
//! the value decoders produce cannot either (their decoders are strict).

/// How orjson writes each ASCII byte inside a string: 0 as is, `u` as `\u00XX`, any
/// other byte as a backslash followed by it.
const ESCAPES: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The escape of `byte` inside a JSON string (0: written as it is).
#[inline]
fn escape_of(byte: u8) -> u8 {
    if byte < 0x80 {
        ESCAPES[usize::from(byte)]
    } else {
        0
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether a byte of the 8 in `word` needs an escape (below 0x20, `"` or `\`): the
/// classic "has a byte less than n" and "has a zero byte" tests, exact as a yes/no.
#[inline]
fn word_needs_escape(word: u64) -> bool {
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGHS != 0
}

/// The index of the first byte from `at` on that needs an escape (`bytes.len()` when
/// none does): eight bytes at a time where none does.
#[inline]
fn next_escape(bytes: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if word_needs_escape(u64::from_le_bytes(word)) {
            break;
        }
        at += 8;
    }
    while at < bytes.len() && escape_of(bytes[at]) == 0 {
        at += 1;
    }
    at
}

/// Append `text` as a JSON string (quotes included), as `orjson.dumps(text)` writes it.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let at = next_escape(bytes, start);
        out.extend_from_slice(&bytes[start..at]);
        let Some(&b) = bytes.get(at) else {
            break;
        };
        let escape = escape_of(b);
        if escape == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        start = at + 1;
    }
    out.push(b'"');
}

/// Bytes `write_str` writes for `text` (`len(orjson.dumps(text))`).
pub fn str_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut extra = 0;
    let mut at = next_escape(bytes, 0);
    while let Some(&b) = bytes.get(at) {
        extra += if escape_of(b) == b'u' { 5 } else { 1 };
        at = next_escape(bytes, at + 1);
    }
    bytes.len() + extra + 2
}

/// The decimal digits of `value`: a buffer and where they start in it.
fn digits(mut value: u64) -> ([u8; 20], usize) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return (buf, at);
        }
    }
}

/// Append an unsigned integer in decimal.
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    let (buf, at) = digits(value);
    out.extend_from_slice(&buf[at..]);
}

/// Append a signed integer in decimal.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    write_u64(out, value.unsigned_abs());
}

/// Append `true` or `false`.
pub fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

/// A date and time as Python's `datetime` holds it: fields, and the UTC offset in
/// microseconds when it is timezone-aware (Python allows any offset strictly inside a
/// day, to the microsecond).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub microsecond: u32,
    pub offset_us: Option<i64>,
}

impl Timestamp {
    /// A UTC time (what capture's commit times are).
    pub fn utc(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Self {
        Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            microsecond: 0,
            offset_us: Some(0),
        }
    }

    fn write_fields(&self, out: &mut Vec<u8>) {
        pad(out, u64::from(self.year), 4);
        out.push(b'-');
        pad(out, u64::from(self.month), 2);
        out.push(b'-');
        pad(out, u64::from(self.day), 2);
        out.push(b'T');
        pad(out, u64::from(self.hour), 2);
        out.push(b':');
        pad(out, u64::from(self.minute), 2);
        out.push(b':');
        pad(out, u64::from(self.second), 2);
        if self.microsecond != 0 {
            out.push(b'.');
            pad(out, u64::from(self.microsecond), 6);
        }
    }

    /// Append the text pydantic's JSON mode gives (`2024-05-01T00:00:00Z`): the offset
    /// in seconds rounded half away from zero (`round(utcoffset().total_seconds())`),
    /// `Z` when that is 0, otherwise `±HH:MM` with the seconds dropped.
    pub fn write_pydantic(&self, out: &mut Vec<u8>) {
        self.write_fields(out);
        let Some(offset_us) = self.offset_us else {
            return;
        };
        let seconds = (offset_us.unsigned_abs() + 500_000) / 1_000_000;
        if seconds == 0 {
            out.push(b'Z');
            return;
        }
        out.push(if offset_us < 0 { b'-' } else { b'+' });
        pad(out, seconds / 3600, 2);
        out.push(b':');
        pad(out, seconds % 3600 / 60, 2);
    }

    /// Append `datetime.isoformat()` (`2024-05-01T00:00:00+00:00`): the offset as
    /// `±HH:MM`, with `:SS` and `.ffffff` when it has them.
    pub fn write_iso(&self, out: &mut Vec<u8>) {
        self.write_fields(out);
        let Some(offset_us) = self.offset_us else {
            return;
        };
        out.push(if offset_us < 0 { b'-' } else { b'+' });
        let magnitude = offset_us.unsigned_abs();
        let seconds = magnitude / 1_000_000;
        let micros = magnitude % 1_000_000;
        pad(out, seconds / 3600, 2);
        out.push(b':');
        pad(out, seconds % 3600 / 60, 2);
        if seconds % 60 != 0 || micros != 0 {
            out.push(b':');
            pad(out, seconds % 60, 2);
            if micros != 0 {
                out.push(b'.');
                pad(out, micros, 6);
            }
        }
    }
}

/// Append `value` in decimal, zero-padded to at least `width` digits.
fn pad(out: &mut Vec<u8>, value: u64, width: usize) {
    let (buf, at) = digits(value);
    let written = buf.len() - at;
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(written)));
    out.extend_from_slice(&buf[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, text);
        assert_eq!(out.len(), str_len(text));
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn strings_escape_as_orjson_does() {
        assert_eq!(s(""), r#""""#);
        assert_eq!(s("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            s("\u{0}\u{8}\t\n\u{b}\u{c}\r\u{1f}"),
            r#""\u0000\b\t\n\u000b\f\r\u001f""#
        );
        assert_eq!(s("\u{7f}\u{2028}汉😀"), "\"\u{7f}\u{2028}汉😀\"");
    }

    #[test]
    fn the_word_test_finds_every_escaped_byte_at_every_place() {
        for b in 0..=255u8 {
            for place in 0..8 {
                let mut word = [b'a'; 8];
                word[place] = b;
                let want = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(word)),
                    want,
                    "{b} at {place}"
                );
            }
        }
        let long = "0123456789abcdef\u{1}é\"xyz0123456789\\";
        assert_eq!(s(long), "\"0123456789abcdef\\u0001é\\\"xyz0123456789\\\\\"");
    }

    #[test]
    fn integers() {
        let mut out = Vec::new();
        write_u64(&mut out, 0);
        out.push(b' ');
        write_u64(&mut out, u64::MAX);
        out.push(b' ');
        write_i64(&mut out, i64::MIN);
        out.push(b' ');
        write_i64(&mut out, -5);
        assert_eq!(out, b"0 18446744073709551615 -9223372036854775808 -5");
    }

    fn both(t: Timestamp) -> (String, String) {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        t.write_pydantic(&mut a);
        t.write_iso(&mut b);
        (
            String::from_utf8(a).expect("ascii"),
            String::from_utf8(b).expect("ascii"),
        )
    }

    #[test]
    fn times_as_pydantic_and_isoformat_write_them() {
        let t = Timestamp::utc(2024, 5, 1, 0, 0, 0);
        assert_eq!(
            both(t),
            (
                "2024-05-01T00:00:00Z".into(),
                "2024-05-01T00:00:00+00:00".into()
            )
        );
        let t = Timestamp {
            year: 999,
            microsecond: 120_000,
            offset_us: Some(-(5 * 3600 + 30 * 60 + 15) * 1_000_000),
            ..t
        };
        assert_eq!(
            both(t),
            (
                "0999-05-01T00:00:00.120000-05:30".into(),
                "0999-05-01T00:00:00.120000-05:30:15".into()
            )
        );
        let t = Timestamp {
            offset_us: Some(-86_399_999_999),
            microsecond: 0,
            ..t
        };
        assert_eq!(
            both(t),
            (
                "0999-05-01T00:00:00-24:00".into(),
                "0999-05-01T00:00:00-23:59:59.999999".into()
            )
        );
        let t = Timestamp {
            offset_us: Some(-499_999),
            ..t
        };
        assert_eq!(
            both(t),
            (
                "0999-05-01T00:00:00Z".into(),
                "0999-05-01T00:00:00-00:00:00.499999".into()
            )
        );
        let t = Timestamp {
            offset_us: Some(-59_500_000),
            ..t
        };
        assert_eq!(both(t).0, "0999-05-01T00:00:00-00:01");
        let t = Timestamp {
            offset_us: None,
            ..t
        };
        assert_eq!(
            both(t),
            ("0999-05-01T00:00:00".into(), "0999-05-01T00:00:00".into())
        );
    }
}
