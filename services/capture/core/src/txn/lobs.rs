//! LOB values at commit (`redo/txn/lobs.py`): a transaction's LOB pages meet the row
//! changes that refer to them. LOB pieces are kept here in redo order as the commit's
//! pieces stream past; a row's locator then reads its value (in row: from the locator;
//! out of row: the pages of its extents, block after block, trimmed to its length). A
//! page is known by (LID, DBA); a page written again replaces it for later rows.
//! [`LobAssembly::finish`] refuses LOB redo no row change carries (in-place changes).

use std::borrow::Cow;

use super::dict::{ColumnDef, TableDef};
use super::piece::{Piece, PieceKind, Raw, xid_text};
use super::rows::LogicalRow;
use crate::error::{Error, ErrorKind, Fact, Result, hex_upper};
use crate::ops::Xid;
use crate::records::Rba;
use crate::values::lob::{LobKind, Locator, NOT_IN_REDO, lob_kind, parse_locator, storage_charset};
use crate::values::text::{Charset, decode_text};
use crate::wire::model::{InvalidText, NotLogged, Value};

type Key = (u64, u64);

/// What a LOB column's locator gives in an image: a value, or "unchanged" (left out).
#[derive(Debug)]
pub enum LobValue {
    Value(Value<'static>),
    Unchanged,
}

#[derive(Debug)]
struct Version {
    key: Key,
    data: Box<[u8]>,
}

/// A write or change kept for [`LobAssembly::finish`].
#[derive(Debug, Clone)]
struct Kept {
    key: Key,
    obj: u64,
    rba: Rba,
    lid: Box<[u8]>,
    op: i64,
}

/// A small map that keeps insertion order (Python's dict).
#[derive(Debug)]
struct Ordered<K, V> {
    items: Vec<(K, V)>,
}

impl<K: PartialEq, V> Default for Ordered<K, V> {
    fn default() -> Self {
        Ordered { items: Vec::new() }
    }
}

impl<K: PartialEq, V> Ordered<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.items.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.items
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    fn entry(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let at = match self.items.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                self.items.push((key, make()));
                self.items.len() - 1
            }
        };
        &mut self.items[at].1
    }
}

/// One committed transaction's LOB pieces and the values they make (`LobAssembly`).
#[derive(Debug)]
pub struct LobAssembly {
    xid: Xid,
    database: String,
    pages: Ordered<Box<[u8]>, Ordered<u64, Vec<Version>>>,
    writes: Ordered<Box<[u8]>, Vec<Kept>>,
    changes: Vec<Kept>,
    void: Vec<Box<[u8]>>,
    taken: Ordered<Box<[u8]>, Key>,
    table: Ordered<Box<[u8]>, u64>,
}

/// Where a value is being decoded, for refusals (`_Where`).
pub struct LobAt<'r, 'g> {
    pub row: &'r LogicalRow<'g>,
    pub table: &'r TableDef,
    pub column: &'r ColumnDef,
    pub after: bool,
    pub unchanged: bool,
}

impl LobAt<'_, '_> {
    fn refuse(&self, xid: &Xid, message: impl Into<Cow<'static, str>>) -> Error {
        Error::undecodable(message)
            .at("table", format!("{}.{}", self.table.owner, self.table.name))
            .at("obj", self.row.obj)
            .at("column", self.column.name.as_str())
            .at("xid", xid_text(xid))
            .at("rba", self.row.rba.to_string())
            .at("scn", self.row.scn)
    }
}

/// `bytes.hex().upper()` or the decoded text of `data` in `cs` (`decode_text`).
pub fn text_value(data: &[u8], cs: Charset) -> Value<'static> {
    let mut out = String::new();
    if decode_text(data, cs, &mut out) {
        Value::Text(Cow::Owned(out))
    } else {
        Value::InvalidText(Box::new(InvalidText {
            hex: Cow::Owned(hex_upper(data)),
            charset: Cow::Borrowed(cs.name()),
        }))
    }
}

/// The error `charset(name)` raises for a set without codec (`UnknownCharset`).
pub fn unknown_charset(name: &str) -> Error {
    let mut known: Vec<&str> = crate::values::text::CHARSETS
        .iter()
        .map(|(_, n)| *n)
        .collect();
    known.sort_unstable();
    Error::new(
        ErrorKind::UnknownCharset,
        format!(
            "character set {} is not supported (known: {})",
            py_repr(name),
            known.join(", ")
        ),
    )
    .at("charset", name)
}

/// Python's `repr` of a str (quotes and the common escapes).
pub fn py_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The page as the row at `key` saw it (`_pick`).
fn pick(versions: Option<&Vec<Version>>, key: Key) -> Option<&Version> {
    let versions = versions?;
    versions
        .iter()
        .rev()
        .find(|v| v.key < key)
        .or_else(|| versions.first())
}

const LLB_OPS_WRITE: [i64; 2] = [0x01, 0x02];

fn llb_op_name(op: i64) -> String {
    match op {
        0x01 | 0x02 => "write".into(),
        0x66 | 0x67 => "trim".into(),
        0x68 => "erase".into(),
        _ => format!("op 0x{op:02X}"),
    }
}

impl LobAssembly {
    /// An empty assembly for `xid` in a database of character set `database`.
    pub fn new(xid: Xid, database: &str) -> Self {
        LobAssembly {
            xid,
            database: database.to_owned(),
            pages: Ordered::default(),
            writes: Ordered::default(),
            changes: Vec::new(),
            void: Vec::new(),
            taken: Ordered::default(),
            table: Ordered::default(),
        }
    }

    /// Keep one LOB piece (`_keep`).
    pub fn keep(&mut self, piece: Piece) {
        let Some(lob) = piece.lob else { return };
        let lid = lob.lid;
        if !lid.is_empty() {
            self.table.entry(lid.clone(), || piece.obj);
        }
        let key = (piece.scn, piece.sub_scn);
        match piece.kind {
            PieceKind::LobPage => {
                let data = match piece.after.into_iter().next() {
                    Some((_, Raw::Bytes(b))) => b,
                    _ => Box::default(),
                };
                self.pages
                    .entry(lid, Ordered::default)
                    .entry(piece.bdba, Vec::new)
                    .push(Version { key, data });
            }
            PieceKind::LobWrite => {
                let kept = Kept {
                    key,
                    obj: piece.obj,
                    rba: piece.rba,
                    lid: lid.clone(),
                    op: lob.op,
                };
                self.writes.entry(lid, Vec::new).push(kept);
            }
            PieceKind::LobChange => self.changes.push(Kept {
                key,
                obj: piece.obj,
                rba: piece.rba,
                lid,
                op: lob.op,
            }),
            _ => {
                if !self.void.contains(&lid) {
                    self.void.push(lid);
                }
            }
        }
    }

    /// The published value of a LOB column's locator `raw` in one image (`value`).
    pub fn value(&mut self, raw: &[u8], at: &LobAt<'_, '_>) -> Result<LobValue> {
        let column = at.column;
        let parsed = parse_locator(raw).and_then(|locator| {
            let wanted = lob_kind(column.type_code, column.charset_form);
            if locator.kind != wanted {
                return Err(Error::parse("LOB locator type does not match the column")
                    .at("lid", locator.lid_hex())
                    .at("locator", locator.kind.name()));
            }
            if !at.after {
                if locator.data.is_none() || locator.unsupported.is_some() {
                    let reason = locator
                        .unsupported
                        .clone()
                        .unwrap_or_else(|| NOT_IN_REDO.into());
                    return Ok(Err(LobValue::Value(not_logged(column, reason))));
                }
                let data = locator.data.unwrap_or_default();
                return self.decode(&locator, data).map(|v| Err(LobValue::Value(v)));
            }
            Ok(Ok(locator))
        });
        let locator = match parsed {
            Ok(Ok(locator)) => locator,
            Ok(Err(done)) => return Ok(done),
            Err(err) if err.kind() == ErrorKind::Parse => {
                if !at.after {
                    return Ok(LobValue::Value(not_logged(
                        column,
                        format!("LOB locator not decoded: {err}"),
                    )));
                }
                return Err(at
                    .refuse(
                        &self.xid,
                        format!("LOB locator not decoded: {}", err.message()),
                    )
                    .with(err.facts()));
            }
            Err(err) => return Err(err),
        };
        if let Some(why) = &locator.unsupported {
            return Err(at
                .refuse(&self.xid, why.clone())
                .at("lid", locator.lid_hex()));
        }
        let key = (at.row.scn, at.row.sub_scn);
        let owned;
        let data: &[u8] = match locator.data {
            Some(d) => d,
            None => {
                if at.unchanged {
                    return Ok(LobValue::Unchanged);
                }
                owned = self.out_of_row(&locator, key, at)?;
                &owned
            }
        };
        let lid: Box<[u8]> = locator.lid.into();
        let taken = self.taken.entry(lid, || key);
        *taken = (*taken).max(key);
        match self.decode(&locator, data) {
            Ok(v) => Ok(LobValue::Value(v)),
            Err(err) if err.kind() == ErrorKind::Parse => Err(at
                .refuse(&self.xid, err.message().to_owned())
                .with(err.facts())),
            Err(err) => Err(err),
        }
    }

    fn out_of_row(
        &mut self,
        locator: &Locator<'_>,
        key: Key,
        at: &LobAt<'_, '_>,
    ) -> Result<Vec<u8>> {
        let length = locator.length.unwrap_or(0);
        if length == 0 {
            return Ok(Vec::new());
        }
        let lid: Box<[u8]> = locator.lid.into();
        let mut data: Vec<u8> = Vec::new();
        {
            let pages = self.pages.get(&lid);
            for extent in &locator.extents {
                for dba in extent.dba..extent.dba.saturating_add(extent.blocks) {
                    if data.len() as u64 >= length {
                        break;
                    }
                    let Some(version) = pick(pages.and_then(|p| p.get(&dba)), key) else {
                        return Err(at
                            .refuse(
                                &self.xid,
                                "LOB page missing: the locator names a block with no 26.6 in \
                                 this transaction (an in-place change, or redo not read)",
                            )
                            .at("lid", locator.lid_hex())
                            .at("opcode", "26.6")
                            .at("dba", format!("0x{dba:08x}"))
                            .at("length", length)
                            .at("have", data.len()));
                    };
                    data.extend_from_slice(&version.data);
                }
            }
        }
        if (data.len() as u64) < length {
            return Err(at
                .refuse(
                    &self.xid,
                    "LOB pages hold fewer bytes than the locator's length",
                )
                .at("lid", locator.lid_hex())
                .at("opcode", "26.6")
                .at("length", length)
                .at("have", data.len()));
        }
        if let Some(pages) = self.pages.get_mut(&lid) {
            for (_, versions) in pages.items.iter_mut() {
                versions.retain(|v| v.key > key);
            }
            pages.items.retain(|(_, v)| !v.is_empty());
        }
        data.truncate(usize::try_from(length).unwrap_or(usize::MAX));
        Ok(data)
    }

    fn decode(&self, locator: &Locator<'_>, data: &[u8]) -> Result<Value<'static>> {
        if locator.kind == LobKind::Blob {
            return Ok(Value::Text(Cow::Owned(hex_upper(data))));
        }
        match storage_charset(locator, &self.database)? {
            Ok(cs) => Ok(text_value(data, cs)),
            Err(name) => Err(unknown_charset(&name)),
        }
    }

    fn refuse_at(
        &self,
        message: impl Into<Cow<'static, str>>,
        piece: Option<&Kept>,
        rba: Rba,
        opcode: &str,
        lid: Option<&[u8]>,
    ) -> Error {
        let lid: &[u8] = lid.or(piece.map(|p| &*p.lid)).unwrap_or(&[]);
        let obj = match piece {
            Some(p) => Some(p.obj),
            None => self.table.get(&Box::from(lid)).copied(),
        };
        let mut err = Error::undecodable(message);
        if let Some(obj) = obj {
            err = err.at("obj", obj);
        }
        err = err.at("xid", xid_text(&self.xid));
        if !lid.is_empty() {
            err = err.at("lid", hex_upper(lid));
        }
        err = err.at("opcode", opcode);
        if let Some(p) = piece {
            err = err.at("rba", p.rba.to_string());
        }
        err.at("commit_rba", rba.to_string())
    }

    /// Refuse the transaction if a captured LOB changed in a way no row change carries
    /// (`finish`); `rba` is the commit's.
    pub fn finish(&self, rba: Rba) -> Result<()> {
        for piece in &self.changes {
            if !self.void.contains(&piece.lid) || piece.lid.is_empty() {
                return Err(self.refuse_at(
                    "LOB block changed in place (26.2, or a 26.6 that is not a block image): \
                     its place in the LOB is not in the redo",
                    Some(piece),
                    rba,
                    "26.x",
                    None,
                ));
            }
        }
        for (lid, writes) in &self.writes.items {
            if self.void.contains(lid) {
                continue;
            }
            for piece in writes {
                if !LLB_OPS_WRITE.contains(&piece.op) {
                    return Err(self.refuse_at(
                        format!(
                            "LOB {} in place: the redo does not carry what it changed",
                            llb_op_name(piece.op)
                        ),
                        Some(piece),
                        rba,
                        "11.17",
                        None,
                    ));
                }
            }
            let last = self.taken.get(lid);
            if let Some(late) = writes.iter().find(|w| last.is_none_or(|l| w.key > *l)) {
                return Err(self.refuse_at(
                    "LOB written without a row change that takes it (an in-place write: \
                     offsets are not in the redo)",
                    Some(late),
                    rba,
                    "11.17",
                    None,
                ));
            }
        }
        for (lid, pages) in &self.pages.items {
            if !self.void.contains(lid) && pages.items.iter().any(|(_, v)| !v.is_empty()) {
                return Err(self.refuse_at(
                    "LOB pages no row change refers to (an in-place change: offsets are not \
                     in the redo)",
                    None,
                    rba,
                    "26.6",
                    Some(lid),
                ));
            }
        }
        Ok(())
    }

    /// The object the error of [`Self::finish`] names (`exc.where["obj"]`).
    pub fn object_of(err: &Error) -> Option<u64> {
        err.facts().iter().find_map(|(k, v)| match (k, v) {
            (&"obj", Fact::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        })
    }
}

fn not_logged(column: &ColumnDef, reason: String) -> Value<'static> {
    Value::NotLogged(Box::new(NotLogged {
        oracle_type: Cow::Owned(column.type_name.clone()),
        reason: Cow::Owned(reason),
    }))
}

/// The LIDs of the locators in a piece's values (for a partial rollback's voids).
pub fn lob_ids(values: &[(i64, Raw)], table: Option<&TableDef>) -> Vec<Box<[u8]>> {
    let Some(table) = table else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (col, raw) in values {
        let is_lob = table
            .columns
            .iter()
            .any(|c| c.seg_col == *col && c.is_lob());
        if let (true, Raw::Bytes(b)) = (is_lob, raw)
            && let Ok(locator) = parse_locator(b)
        {
            out.push(locator.lid.into());
        }
    }
    out
}
