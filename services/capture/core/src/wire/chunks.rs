//! Large values cut into `value_chunk` pieces (`drcommon/chunking.py`: `utf8_cut`,
//! `pieces`, `Cutter`).
//!
//! A value is cut at character boundaries into pieces of at most `max_bytes` UTF-8
//! bytes, and a piece whose JSON string form is longer than `json_budget` is halved (by
//! characters, as Python counts them: code points) until every part fits. The
//! reference records the number of pieces and the UTF-8 length and SHA-256 of the whole
//! value. Pieces are byte ranges of the value's text: nothing is copied until a chunk
//! record is written.

use std::borrow::Cow;
use std::ops::Range;

use sha2::{Digest, Sha256};

use super::json::str_len;
use crate::error::{Error, ErrorKind, Result};

/// One UTF-8 character at most: a cut always makes progress.
pub(crate) const MIN_PIECE_BYTES: usize = 4;

/// A value moved out of its change.
#[derive(Debug)]
pub(crate) struct Cut<'t> {
    /// The text carried: the value itself, or the JSON document of a value object.
    pub text: Cow<'t, str>,
    /// Byte ranges of `text`, in order, covering it.
    pub pieces: Vec<Range<usize>>,
    /// Lower-case hex SHA-256 of `text`'s UTF-8 bytes.
    pub sha256: [u8; 64],
    /// Carried as a JSON document (`form = "json"`).
    pub json_form: bool,
}

impl Cut<'_> {
    /// UTF-8 bytes of the value (the reference's `length`).
    pub fn length(&self) -> usize {
        self.text.len()
    }
}

/// The large values of one schema's share of a transaction, by reference id (ids are
/// their index, counted from 0 within the share).
#[derive(Debug)]
pub(crate) struct Cutter<'t> {
    max_bytes: usize,
    json_budget: i64,
    pub values: Vec<Cut<'t>>,
}

impl<'t> Cutter<'t> {
    pub fn new(max_bytes: usize, json_budget: i64) -> Self {
        Cutter {
            max_bytes,
            json_budget,
            values: Vec::new(),
        }
    }

    /// Cut `text` and keep it; its reference id.
    pub fn cut(&mut self, text: Cow<'t, str>, json_form: bool) -> Result<u32> {
        let mut pieces = Vec::new();
        for range in utf8_cut(text.as_bytes(), self.max_bytes)? {
            fit_json(&text, range, self.json_budget, &mut pieces)?;
        }
        let id = u32::try_from(self.values.len())
            .map_err(|_| Error::new(ErrorKind::Value, "too many values to cut"))?;
        let sha256 = hex_digest(text.as_bytes());
        self.values.push(Cut {
            text,
            pieces,
            sha256,
            json_form,
        });
        Ok(id)
    }
}

fn hex_digest(data: &[u8]) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(data);
    let mut out = [0u8; 64];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    out
}

/// `utf8_cut`: `data` (valid UTF-8) in ranges of at most `max_bytes`, each ending on a
/// character boundary; empty data gives one empty range.
pub(crate) fn utf8_cut(data: &[u8], max_bytes: usize) -> Result<Vec<Range<usize>>> {
    if max_bytes < MIN_PIECE_BYTES {
        return Err(Error::new(
            ErrorKind::Value,
            format!("pieces need at least {MIN_PIECE_BYTES} bytes"),
        ));
    }
    let mut out = Vec::with_capacity(data.len() / max_bytes + 1);
    if data.len() <= max_bytes {
        out.push(0..data.len());
        return Ok(out);
    }
    let mut pos = 0;
    while pos < data.len() {
        let mut end = (pos + max_bytes).min(data.len());
        // 10xxxxxx: a byte inside a multi-byte sequence
        while end < data.len() && data[end] & 0xC0 == 0x80 {
            end -= 1;
        }
        out.push(pos..end);
        pos = end;
    }
    Ok(out)
}

/// `_fit_json`: the piece `range` of `text`, halved by characters until each part's
/// JSON form (quotes included) fits `budget`; parts appended to `out` in order.
fn fit_json(
    text: &str,
    range: Range<usize>,
    budget: i64,
    out: &mut Vec<Range<usize>>,
) -> Result<()> {
    let piece = &text[range.clone()];
    if i64::try_from(str_len(piece)).unwrap_or(i64::MAX) <= budget {
        out.push(range);
        return Ok(());
    }
    let count = piece.chars().count();
    if count <= 1 {
        return Err(Error::new(
            ErrorKind::Value,
            format!("json_budget {budget} cannot hold one escaped character"),
        ));
    }
    let half = piece
        .char_indices()
        .nth(count / 2)
        .map_or(piece.len(), |(at, _)| at);
    let middle = range.start + half;
    fit_json(text, range.start..middle, budget, out)?;
    fit_json(text, middle..range.end, budget, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_end_on_character_boundaries() {
        let text = "aé汉😀".repeat(3);
        let ranges = utf8_cut(text.as_bytes(), 4).expect("cut");
        let joined: String = ranges.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(joined, text);
        assert!(ranges.iter().all(|r| r.len() <= 4 && !r.is_empty()));
        let empty = utf8_cut(b"", 4).expect("cut");
        assert_eq!((empty.len(), empty.first()), (1, Some(&(0..0))));
        assert_eq!(
            utf8_cut(b"abc", 3).map_err(|e| e.message().to_owned()),
            Err("pieces need at least 4 bytes".to_owned())
        );
    }

    #[test]
    fn escaped_pieces_are_halved_by_characters() {
        let mut cutter = Cutter::new(100, 20);
        let id = cutter.cut(Cow::Borrowed("\u{1}\u{1}\u{1}\u{1}\u{1}"), false);
        assert_eq!(id.expect("cut"), 0);
        let cut = &cutter.values[0];
        assert_eq!(cut.pieces, vec![0..2, 2..5]); // "\u0001" is 6 bytes: 2 + 2*6 = 14
        assert_eq!(cut.length(), 5);
        let mut tight = Cutter::new(100, 7);
        let err = tight
            .cut(Cow::Borrowed("\u{1}"), false)
            .expect_err("too tight");
        assert_eq!(
            err.message(),
            "json_budget 7 cannot hold one escaped character"
        );
    }

    #[test]
    fn digest_is_sha256() {
        assert_eq!(
            &hex_digest(b"abc"),
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
