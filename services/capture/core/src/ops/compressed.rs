//! Row images in the block format of basic and OLTP/advanced row compression
//! (`ops/compressed.py`, whose notes and sources are in docs/REDO_FORMAT.md,
//! "Compressed rows"). A row of a compressed block's data table stores *entries* in the
//! block's own column order: a value inline, a NULL, or the number of a symbol-table row.
//! Which column an entry is, and what a symbol holds, is not in the redo; the values come
//! from the supplemental columns of the same undo record ([`image_values`]).

use crate::error::{Error, Fact, Result};

// --- row header --------------------------------------------------------------------------
pub const ROW_FB: usize = 0; // u8: row flag byte, the kdo header's fb
pub const ROW_LB: usize = 1; // u8: lock byte
pub const ROW_CC: usize = 2; // u8: number of entries stored, the kdo header's cc
pub const ROW_HEADER: usize = 3;
pub const ROW_HRID_SIZE: usize = 6; // F without H: 6 bytes for the head row id (unset)

// --- entries -------------------------------------------------------------------------------
pub const SYMBOL_MAX: u8 = 0xC7; // 0x00..0xC7: a row number of table 0, the symbol table
pub const INLINE_BASE: u8 = 0xC8; // 0xC8 + n: n bytes of one column's value follow
pub const INLINE_MAX: u8 = 0xF9; // highest length code taken as established (n = 49)
pub const NULL_ENTRY: u8 = 0xFF; // a NULL column

const FB_CLUSTER: u8 = 0x80 | 0x40; // K, C: a cluster's key or member row
const FB_HEAD: u8 = 0x20;
const FB_FIRST: u8 = 0x08;
const FB_LAST: u8 = 0x04;

/// The text standing for the columns the redo does not carry (a `NotInRedo` reason).
pub const NOT_LOGGED: &str = "compressed row: the block's column order and symbol table are not in the redo, and the supplemental data does not list this column";

/// One stored entry: `symbol` is a symbol-table row number (`value` None), else `value`
/// is the column's bytes (None: a NULL column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub value: Option<&'a [u8]>,
    pub symbol: Option<u8>,
}

/// A row image of a compressed block's data table, entries in block column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedRow<'a> {
    pub fb: u8,
    pub lb: u8,
    pub entries: Vec<Entry<'a>>,
}

impl CompressedRow<'_> {
    /// How many entries refer to the block's symbol table.
    pub fn symbols(&self) -> usize {
        self.entries.iter().filter(|e| e.symbol.is_some()).count()
    }
}

/// A row of table 1 or higher that is no cluster row lives in the data table of a
/// compressed block (a plain heap block has only table 0).
#[inline]
pub fn in_compressed_block(fb: u8, tabn: u8) -> bool {
    tabn >= 1 && fb & FB_CLUSTER == 0
}

fn refuse(
    message: &'static str,
    facts: Vec<(&'static str, Fact)>,
    at: &[(&'static str, Fact)],
) -> Error {
    let mut err = Error::undecodable(message);
    for (key, value) in facts {
        err = err.at(key, value);
    }
    err.with(at)
}

/// The entries of one whole row image; `at` (opcode, field …) goes into errors after
/// each error's own facts. Refuses what is not established, as the Python parser does.
pub fn parse_compressed_row<'a>(
    data: &'a [u8],
    at: &[(&'static str, Fact)],
) -> Result<CompressedRow<'a>> {
    if data.len() < ROW_HEADER {
        return Err(refuse(
            "compressed row image shorter than its header",
            vec![
                ("expected", ROW_HEADER.into()),
                ("found", data.len().into()),
            ],
            at,
        ));
    }
    let (fb, lb, count) = (data[ROW_FB], data[ROW_LB], data[ROW_CC]);
    if fb & FB_CLUSTER != 0 {
        return Err(refuse(
            "compressed row image of a cluster row",
            vec![("found", format!("fb 0x{fb:02x}").into())],
            at,
        ));
    }
    if fb & FB_LAST == 0 {
        return Err(refuse(
            "compressed row piece without the L flag: where its next-piece address goes is not established",
            vec![("found", format!("fb 0x{fb:02x}").into())],
            at,
        ));
    }
    let mut pos = ROW_HEADER;
    if fb & FB_FIRST != 0 && fb & FB_HEAD == 0 {
        pos += ROW_HRID_SIZE;
    }
    let mut entries = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (entry, next) = entry(data, pos, at)?;
        entries.push(entry);
        pos = next;
    }
    if pos != data.len() {
        return Err(refuse(
            "compressed row entries do not fill the row image",
            vec![
                ("offset", pos.into()),
                ("expected", data.len().into()),
                ("found", pos.into()),
            ],
            at,
        ));
    }
    Ok(CompressedRow { fb, lb, entries })
}

fn entry<'a>(
    data: &'a [u8],
    pos: usize,
    at: &[(&'static str, Fact)],
) -> Result<(Entry<'a>, usize)> {
    let Some(&code) = data.get(pos) else {
        return Err(refuse(
            "compressed row image ends before its entries",
            vec![("offset", pos.into()), ("found", data.len().into())],
            at,
        ));
    };
    if code <= SYMBOL_MAX {
        return Ok((
            Entry {
                value: None,
                symbol: Some(code),
            },
            pos + 1,
        ));
    }
    if code == NULL_ENTRY {
        return Ok((
            Entry {
                value: None,
                symbol: None,
            },
            pos + 1,
        ));
    }
    if code > INLINE_MAX {
        return Err(refuse(
            "compressed row entry code not established",
            vec![
                ("offset", pos.into()),
                ("found", format!("0x{code:02x}").into()),
                (
                    "expected",
                    "0x00-0xc7 symbol, 0xc8-0xf9 inline, 0xff NULL".into(),
                ),
            ],
            at,
        ));
    }
    let size = usize::from(code - INLINE_BASE);
    let end = pos + 1 + size;
    match data.get(pos + 1..end) {
        Some(value) => Ok((
            Entry {
                value: Some(value),
                symbol: None,
            },
            end,
        )),
        None => Err(refuse(
            "compressed row value runs past the row image",
            vec![
                ("offset", pos.into()),
                ("expected", size.into()),
                ("found", (data.len() - pos - 1).into()),
            ],
            at,
        )),
    }
}

/// A column value as supplemental data lists it: (1-based column number, value).
pub type Listed<'a> = (u16, Option<&'a [u8]>);

/// What stands for the columns an image does not list: nothing (known trailing NULLs),
/// or the [`NOT_LOGGED`] reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    Nothing,
    NotLogged,
}

/// Counts of each distinct value (a multiset; rows have few columns, a list is enough).
fn counts<'a>(values: impl Iterator<Item = Option<&'a [u8]>>) -> Vec<(Option<&'a [u8]>, usize)> {
    let mut out: Vec<(Option<&'a [u8]>, usize)> = Vec::new();
    for value in values {
        match out.iter_mut().find(|(v, _)| *v == value) {
            Some(slot) => slot.1 += 1,
            None => out.push((value, 1)),
        }
    }
    out
}

fn count_of(whole: &[(Option<&[u8]>, usize)], key: Option<&[u8]>) -> usize {
    whole.iter().find(|(v, _)| *v == key).map_or(0, |(_, n)| *n)
}

/// Every value of `part` is in `whole` at least as often.
fn within(part: &[(Option<&[u8]>, usize)], whole: &[(Option<&[u8]>, usize)]) -> bool {
    part.iter().all(|(key, n)| count_of(whole, *key) >= *n)
}

/// The row's column values (from `supp`, the supplemental columns of the same undo
/// record) and what stands for the columns `supp` does not list (`compressed.image_values`:
/// the same rules, the same refusal with `at`'s facts).
pub fn image_values<'a, 'b>(
    row: &CompressedRow<'_>,
    supp: &'b [Listed<'a>],
    at: &[(&'static str, Fact)],
) -> Result<(&'b [Listed<'a>], Rest)> {
    if supp.is_empty() {
        return Ok((&[], Rest::NotLogged));
    }
    let inline = counts(
        row.entries
            .iter()
            .filter(|e| e.symbol.is_none())
            .map(|e| e.value),
    );
    let listed = counts(supp.iter().map(|(_, v)| *v));
    let symbols = row.symbols();
    let require = |ok: bool| -> Result<()> {
        if ok {
            return Ok(());
        }
        Err(refuse(
            "supplemental columns do not match the compressed row image",
            vec![
                (
                    "expected",
                    format!("{} entries ({symbols} symbols)", row.entries.len()).into(),
                ),
                (
                    "found",
                    format!("{} supplemental columns", supp.len()).into(),
                ),
            ],
            at,
        ))
    };
    if symbols > 0 {
        let values: Vec<_> = inline
            .iter()
            .filter(|(v, _)| v.is_some())
            .copied()
            .collect();
        require(within(&values, &listed))?;
        return Ok((supp, Rest::NotLogged));
    }
    if supp.len() >= row.entries.len() {
        // listed - inline (positive counts only) may hold nothing but NULLs
        let extra_ok = listed
            .iter()
            .all(|(v, n)| v.is_none() || *n <= count_of(&inline, *v));
        require(within(&inline, &listed) && extra_ok)?;
        return Ok((supp, Rest::Nothing));
    }
    require(within(&listed, &inline))?;
    Ok((supp, Rest::NotLogged))
}
