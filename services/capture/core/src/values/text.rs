//! Character data in Oracle's character sets (`drcapture/values/text.py`, which writes
//! up where each set differs from the Python codec of its family). Bytes that are not
//! valid in the set are reported as invalid (the caller publishes them as hex with the
//! set's name), never replaced. The GBK, GB18030 and Windows-1252 tables are Python's
//! codecs' own mappings (tools/gen_charset_tables.py).

mod tables {
    include!("tables/gb18030_four.rs");
}

static GBK_PAIRS: &[u8] = include_bytes!("tables/gbk_pairs.bin");
static GB18030_PAIRS: &[u8] = include_bytes!("tables/gb18030_pairs.bin");
static CP1252_HIGH: &[u8] = include_bytes!("tables/cp1252_high.bin");

/// A supported Oracle character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    Al32Utf8,
    Utf8,
    Al16Utf16,
    Us7Ascii,
    We8Iso8859P1,
    We8MsWin1252,
    Zhs16Gbk,
    Zhs32Gb18030,
}

/// Every supported set with its Oracle name.
pub const CHARSETS: [(Charset, &str); 8] = [
    (Charset::Al32Utf8, "AL32UTF8"),
    (Charset::Utf8, "UTF8"),
    (Charset::Al16Utf16, "AL16UTF16"),
    (Charset::Us7Ascii, "US7ASCII"),
    (Charset::We8Iso8859P1, "WE8ISO8859P1"),
    (Charset::We8MsWin1252, "WE8MSWIN1252"),
    (Charset::Zhs16Gbk, "ZHS16GBK"),
    (Charset::Zhs32Gb18030, "ZHS32GB18030"),
];

impl Charset {
    /// The set named exactly `name` (upper case; callers fold case as Python does).
    pub fn by_name(name: &str) -> Option<Charset> {
        CHARSETS.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    /// The set's Oracle name.
    pub fn name(self) -> &'static str {
        CHARSETS
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .unwrap_or("")
    }
}

fn table_u16(table: &[u8], index: usize) -> u16 {
    match table.get(2 * index..2 * index + 2) {
        Some(b) => u16::from_le_bytes([b[0], b[1]]),
        None => 0,
    }
}

/// The code point of a two-byte code (lead 0x81..0xFE, trail 0x40..0xFE) in `table`.
fn pair(table: &[u8], lead: u8, trail: u8) -> Option<char> {
    if !(0x81..=0xFE).contains(&lead) || !(0x40..=0xFE).contains(&trail) {
        return None;
    }
    let index = usize::from(lead - 0x81) * 191 + usize::from(trail - 0x40);
    match table_u16(table, index) {
        0 => None,
        cp => char::from_u32(u32::from(cp)),
    }
}

/// Append the text of `raw` in `cs`; `false` (and `out` as it was) when `raw` is not
/// valid in the set.
pub fn decode_text(raw: &[u8], cs: Charset, out: &mut String) -> bool {
    let start = out.len();
    let ok = match cs {
        Charset::Al32Utf8 => match std::str::from_utf8(raw) {
            Ok(s) => {
                out.push_str(s);
                true
            }
            Err(_) => false,
        },
        Charset::Utf8 => cesu8(raw, out),
        Charset::Al16Utf16 => utf16be(raw, out),
        Charset::Us7Ascii => {
            let ok = raw.is_ascii();
            if ok {
                out.extend(raw.iter().map(|&b| char::from(b)));
            }
            ok
        }
        Charset::We8Iso8859P1 => {
            out.extend(raw.iter().map(|&b| char::from(b)));
            true
        }
        Charset::We8MsWin1252 => cp1252(raw, out),
        Charset::Zhs16Gbk => zhs16gbk(raw, out),
        Charset::Zhs32Gb18030 => gb18030(raw, out),
    };
    if !ok {
        out.truncate(start);
    }
    ok
}

fn cp1252(raw: &[u8], out: &mut String) -> bool {
    for &b in raw {
        if b < 0x80 {
            out.push(char::from(b));
            continue;
        }
        match char::from_u32(u32::from(table_u16(CP1252_HIGH, usize::from(b - 0x80)))) {
            Some(c) if c != '\0' => out.push(c),
            _ => return false,
        }
    }
    true
}

/// Oracle UTF8 is CESU-8: characters above U+FFFF come as two 3-byte surrogates, and
/// 4-byte sequences are not part of the set. Valid UTF-8 decodes as such; otherwise the
/// bytes are read as UTF-8 that may encode surrogates (Python's `surrogatepass`), whose
/// code units must then pair up as strict UTF-16.
fn cesu8(raw: &[u8], out: &mut String) -> bool {
    if raw.iter().any(|&b| b >= 0xF0) {
        return false;
    }
    if let Ok(s) = std::str::from_utf8(raw) {
        out.push_str(s);
        return true;
    }
    let mut units: Vec<u16> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b0 = raw[i];
        let cont = |k: usize| raw.get(i + k).copied().filter(|b| b & 0xC0 == 0x80);
        if b0 < 0x80 {
            units.push(u16::from(b0));
            i += 1;
        } else if (0xC2..=0xDF).contains(&b0) {
            let Some(b1) = cont(1) else { return false };
            units.push((u16::from(b0 & 0x1F) << 6) | u16::from(b1 & 0x3F));
            i += 2;
        } else if (0xE0..=0xEF).contains(&b0) {
            let (Some(b1), Some(b2)) = (cont(1), cont(2)) else {
                return false;
            };
            if b0 == 0xE0 && b1 < 0xA0 {
                return false; // overlong
            }
            units.push(
                (u16::from(b0 & 0x0F) << 12) | (u16::from(b1 & 0x3F) << 6) | u16::from(b2 & 0x3F),
            );
            i += 3;
        } else {
            return false; // a stray continuation byte, or C0/C1
        }
    }
    match String::from_utf16(&units) {
        Ok(s) => {
            out.push_str(&s);
            true
        }
        Err(_) => false,
    }
}

/// AL16UTF16: big-endian UTF-16, unpaired surrogates and odd lengths invalid.
fn utf16be(raw: &[u8], out: &mut String) -> bool {
    if raw.len() % 2 != 0 {
        return false;
    }
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]));
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => out.push(c),
            Err(_) => return false,
        }
    }
    true
}

/// ZHS16GBK: Python's `gbk` first; where it refuses the bytes, GBK's user-defined areas
/// too: every two-byte code of GBK's shape is looked up in the GB18030 two-byte table.
fn zhs16gbk(raw: &[u8], out: &mut String) -> bool {
    if walk_pairs(raw, GBK_PAIRS, out) {
        return true;
    }
    walk_pairs(raw, GB18030_PAIRS, out)
}

fn walk_pairs(raw: &[u8], table: &[u8], out: &mut String) -> bool {
    let start = out.len();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b < 0x80 {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        match raw
            .get(i + 1)
            .and_then(|&t| pair(table, b, t).filter(|_| t != 0x7F))
        {
            Some(c) => out.push(c),
            None => {
                out.truncate(start);
                return false;
            }
        }
        i += 2;
    }
    true
}

fn gb18030(raw: &[u8], out: &mut String) -> bool {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b < 0x80 {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let Some(&b2) = raw.get(i + 1) else {
            return false;
        };
        if (0x30..=0x39).contains(&b2) {
            let (Some(&b3), Some(&b4)) = (raw.get(i + 2), raw.get(i + 3)) else {
                return false;
            };
            if !(0x81..=0xFE).contains(&b)
                || !(0x81..=0xFE).contains(&b3)
                || !(0x30..=0x39).contains(&b4)
            {
                return false;
            }
            let index = ((u32::from(b - 0x81) * 10 + u32::from(b2 - 0x30)) * 126
                + u32::from(b3 - 0x81))
                * 10
                + u32::from(b4 - 0x30);
            let runs = &tables::GB18030_FOUR;
            let k = runs.partition_point(|&(first, _, _)| first <= index);
            let Some(&(first, len, cp)) = k.checked_sub(1).and_then(|k| runs.get(k)) else {
                return false;
            };
            if index >= first + len {
                return false;
            }
            match char::from_u32(cp + (index - first)) {
                Some(c) => out.push(c),
                None => return false,
            }
            i += 4;
            continue;
        }
        match pair(GB18030_PAIRS, b, b2) {
            Some(c) => out.push(c),
            None => return false,
        }
        i += 2;
    }
    true
}
