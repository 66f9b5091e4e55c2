//! The Kafka records of one committed transaction, byte for byte as
//! `drcapture.publish.transaction_records` writes them (`drcapture/publish_records.py`).
//!
//! Per schema (schemas in the order of their first change): `tx` records of at most
//! `max_changes` changes (`chunk` 0.., `last`). When a record's body is longer than
//! `max_value_bytes`, every value longer than that (UTF-8 bytes of its text) leaves its
//! change for `value_chunk` records written right before the `tx` record that refers to
//! it; a record still over `max_record_bytes` is split further, and a single change that
//! does not fit alone has its longest values moved out too. The first record of each
//! schema's share carries the header `start=1`, the others `start=0`. The steps, their
//! order and the errors (which one, where) are the Python module's, so both give the
//! same records or the same error for the same transaction and limits.

use std::borrow::Cow;
use std::collections::HashMap;

use super::chunks::Cutter;
use super::encode::{
    AFTER, BEFORE, Moved, SCHEMA_VERSION, Slot, TX_TAIL, WHOLE, write_change, write_chunk,
    write_info, write_tx_head, write_value,
};
use super::json::write_u64;
use super::model::{Image, RowChange, Transaction, TransactionInfo, Value};
use crate::error::{Error, ErrorKind, Result};

/// A reference costs ~150 bytes: shorter values stay in the change.
const SMALLEST_MOVED: usize = 256;
/// Upper bound for sizing envelopes (chunk and seq numbers).
const MAX_CHUNK_NO: u64 = 1_000_000_000;

/// How large a record may be (`drcapture.publish_records.RecordLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    pub max_value_bytes: usize,
    pub max_record_bytes: usize,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits {
            max_value_bytes: 256 * 1024,
            max_record_bytes: 1_000_000,
        }
    }
}

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Tx,
    ValueChunk,
}

impl RecordKind {
    /// The `kind` field and header.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Tx => "tx",
            RecordKind::ValueChunk => "value_chunk",
        }
    }
}

/// One record to write on a schema's topic (`OutRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRecord<'t> {
    pub schema: &'t str,
    pub value: Vec<u8>,
    pub headers: Vec<(&'static str, Vec<u8>)>,
    pub kind: RecordKind,
}

/// Every record of a transaction, in writing order, and the key they all carry (the
/// xid: a transaction's records share a partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionRecords<'t> {
    pub key: Vec<u8>,
    pub records: Vec<OutRecord<'t>>,
}

/// Every record of `tx` (`transaction_records`). Errors: `SinkError` for a change that
/// does not fit `max_record_bytes` even with its long values moved out (or a record
/// over it, a last guard), `ValueError` where the Python functions raise one (limits too
/// small to cut a value with, `max_changes` 0), both with the Python messages and facts.
pub fn transaction_records<'t>(
    tx: &'t Transaction<'_>,
    max_changes: usize,
    limits: &RecordLimits,
) -> Result<TransactionRecords<'t>> {
    check(tx)?;
    let mut info_json = Vec::with_capacity(256);
    write_info(&mut info_json, &tx.info);
    let share = Share {
        info: &tx.info,
        info_json: &info_json,
        headers: tx_headers(&tx.info),
        schema: "",
        limits: *limits,
    };
    let mut records = Vec::new();
    for (schema, changes) in by_schema(tx) {
        let share = Share {
            schema,
            ..share.clone()
        };
        share.records(&changes, max_changes, &mut records)?;
    }
    Ok(TransactionRecords {
        key: tx.info.xid.as_bytes().to_vec(),
        records,
    })
}

/// A transaction's changes per schema: schemas in the order of their first change, redo
/// order within each (`by_schema`).
fn by_schema<'t, 'a>(tx: &'t Transaction<'a>) -> Vec<(&'t str, Vec<&'t RowChange<'a>>)> {
    let mut out: Vec<(&str, Vec<&RowChange<'a>>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for change in &tx.changes {
        let owner = change.owner();
        let at = *index.entry(owner).or_insert_with(|| {
            out.push((owner, Vec::new()));
            out.len() - 1
        });
        out[at].1.push(change);
    }
    out
}

/// Refuse a change that names a column its shape does not have.
fn check(tx: &Transaction<'_>) -> Result<()> {
    for change in &tx.changes {
        let count = change.table.columns().len();
        let images = [&change.before, &change.after];
        let named = images
            .into_iter()
            .flatten()
            .flat_map(|image| image.iter().map(|e| e.column))
            .chain(change.columns.iter().copied());
        for id in named {
            if usize::try_from(id).map_or(true, |i| i >= count) {
                return Err(Error::new(
                    ErrorKind::Value,
                    format!("column {id} is not one of the {count} columns of its table"),
                )
                .at("xid", tx.info.xid.as_str())
                .at("table", change.table.table()));
            }
        }
    }
    Ok(())
}

/// The headers of a tx record before `start` (`serde.transaction_headers`).
fn tx_headers(info: &TransactionInfo) -> Vec<(&'static str, Vec<u8>)> {
    let mut scn = Vec::new();
    write_u64(&mut scn, info.commit_scn);
    let mut ts = Vec::new();
    info.commit_ts.write_iso(&mut ts);
    vec![
        ("v", version()),
        ("kind", b"tx".to_vec()),
        ("commit_scn", scn),
        ("xid", info.xid.as_bytes().to_vec()),
        ("commit_ts", ts),
    ]
}

fn version() -> Vec<u8> {
    let mut v = Vec::new();
    write_u64(&mut v, SCHEMA_VERSION);
    v
}

fn start_header(start: bool) -> (&'static str, Vec<u8>) {
    ("start", if start { b"1" } else { b"0" }.to_vec())
}

/// A change on its way out: the values moved out of it so far, sorted by slot.
#[derive(Debug, Clone)]
struct Wire<'c, 'a> {
    change: &'c RowChange<'a>,
    moved: Vec<Moved>,
}

impl<'c, 'a> Wire<'c, 'a> {
    fn new(change: &'c RowChange<'a>) -> Self {
        Wire {
            change,
            moved: Vec::new(),
        }
    }

    fn is_moved(&self, slot: Slot) -> bool {
        self.moved.binary_search_by(|m| m.slot.cmp(&slot)).is_ok()
    }

    fn images(&self) -> [(u8, Option<&'c Image<'a>>); 2] {
        [
            (BEFORE, self.change.before.as_ref()),
            (AFTER, self.change.after.as_ref()),
        ]
    }

    /// `externalize`: every value whose text is longer than `over` UTF-8 bytes moved
    /// into `cutter`, in the order the references are listed; whether any was.
    fn externalize(&mut self, over: usize, cutter: &mut Cutter<'c>) -> Result<bool> {
        let mut new = Vec::new();
        for (side, image) in self.images() {
            for (index, entry) in image.into_iter().flatten().enumerate() {
                let whole = Slot {
                    side,
                    entry: u32::try_from(index).unwrap_or(WHOLE),
                    write: WHOLE,
                };
                if self.is_moved(whole) {
                    continue;
                }
                match &entry.value {
                    Value::Text(text) if text.len() > over => {
                        let id = cutter.cut(Cow::Borrowed(text.as_ref()), false)?;
                        new.push(Moved { slot: whole, id });
                    }
                    Value::InvalidText(v) if v.hex.len() > over => {
                        new.push(cut_json(&entry.value, whole, cutter)?);
                    }
                    Value::Unsupported(v) if v.hex.as_ref().is_some_and(|h| h.len() > over) => {
                        new.push(cut_json(&entry.value, whole, cutter)?);
                    }
                    Value::LobWrites(lob) => {
                        for (w, write) in lob.writes.iter().enumerate() {
                            let slot = Slot {
                                write: u32::try_from(w).unwrap_or(WHOLE),
                                ..whole
                            };
                            if write.data.len() > over && !self.is_moved(slot) {
                                let id = cutter.cut(Cow::Borrowed(write.data.as_ref()), false)?;
                                new.push(Moved { slot, id });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if new.is_empty() {
            return Ok(false);
        }
        // Kept sorted between calls: `is_moved` searches it.
        self.moved.extend(new);
        self.moved.sort_unstable_by_key(|m| m.slot);
        Ok(true)
    }

    /// `text_sizes`: lengths (characters) of the texts `externalize` could still move,
    /// longest first, each once.
    fn text_sizes(&self) -> Vec<usize> {
        let mut sizes = Vec::new();
        for (side, image) in self.images() {
            for (index, entry) in image.into_iter().flatten().enumerate() {
                let whole = Slot {
                    side,
                    entry: u32::try_from(index).unwrap_or(WHOLE),
                    write: WHOLE,
                };
                if self.is_moved(whole) {
                    continue;
                }
                match &entry.value {
                    Value::Text(text) => sizes.push(text.chars().count()),
                    Value::InvalidText(v) if !v.hex.is_empty() => {
                        sizes.push(v.hex.chars().count());
                    }
                    Value::Unsupported(v) => {
                        if let Some(hex) = v.hex.as_ref().filter(|h| !h.is_empty()) {
                            sizes.push(hex.chars().count());
                        }
                    }
                    Value::LobWrites(lob) => {
                        for (w, write) in lob.writes.iter().enumerate() {
                            let slot = Slot {
                                write: u32::try_from(w).unwrap_or(WHOLE),
                                ..whole
                            };
                            if !self.is_moved(slot) {
                                sizes.push(write.data.chars().count());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        sizes
    }
}

/// One schema's share of a transaction, and what its records repeat.
#[derive(Clone)]
struct Share<'t, 'j> {
    info: &'t TransactionInfo,
    info_json: &'j [u8],
    headers: Vec<(&'static str, Vec<u8>)>,
    schema: &'t str,
    limits: RecordLimits,
}

impl<'t> Share<'t, '_> {
    /// `schema_records`: this share's records, appended to `out` in writing order.
    fn records<'a>(
        &self,
        changes: &[&'t RowChange<'a>],
        max_changes: usize,
        out: &mut Vec<OutRecord<'t>>,
    ) -> Result<()> {
        if max_changes == 0 {
            return Err(Error::new(
                ErrorKind::Value,
                "range() arg 3 must not be zero",
            ));
        }
        let mut parts: Vec<Vec<Wire<'t, 'a>>> = changes
            .chunks(max_changes)
            .map(|part| part.iter().map(|c| Wire::new(c)).collect())
            .collect();
        if parts.is_empty() {
            parts.push(Vec::new());
        }
        let total = changes.len() as u64;
        let count = parts.len();
        let first: Vec<Vec<u8>> = parts
            .iter()
            .enumerate()
            .map(|(i, part)| self.encode(total, part, i, i + 1 == count, &[]))
            .collect();
        if first
            .iter()
            .all(|body| body.len() <= self.limits.max_value_bytes)
        {
            for (index, body) in first.into_iter().enumerate() {
                out.push(self.tx_record(body, index == 0));
            }
            return Ok(());
        }
        self.with_values(total, parts, first, out)
    }

    /// `_with_values`: move long values out, split what is still too long, renumber. A
    /// body of the first pass is reused when its changes, chunk number and `last` flag
    /// stay the same.
    fn with_values<'a>(
        &self,
        total: u64,
        parts: Vec<Vec<Wire<'t, 'a>>>,
        first: Vec<Vec<u8>>,
        out: &mut Vec<OutRecord<'t>>,
    ) -> Result<()> {
        let limits = self.limits;
        let mut cutter = Cutter::new(limits.max_value_bytes, self.json_budget());
        let mut last: Vec<(Vec<Wire<'t, 'a>>, Option<Vec<u8>>)> = Vec::new();
        for (index, (mut part, body)) in parts.into_iter().zip(first).enumerate() {
            let same_place = last.len() == index;
            if body.len() <= limits.max_value_bytes {
                last.push((part, same_place.then_some(body)));
                continue;
            }
            let mut moved_any = false;
            for wire in &mut part {
                moved_any |= wire.externalize(limits.max_value_bytes, &mut cutter)?;
            }
            if !moved_any && body.len() <= limits.max_record_bytes {
                last.push((part, same_place.then_some(body)));
                continue;
            }
            for piece in self.fit(part, &mut cutter)? {
                last.push((piece, None));
            }
        }
        let count = last.len();
        let mut started = false;
        for (index, (part, kept)) in last.into_iter().enumerate() {
            let body = match kept {
                Some(body) => body,
                None => {
                    if !cutter.values.is_empty() {
                        for wire in &part {
                            for moved in &wire.moved {
                                self.chunk_records(&cutter, moved.id, !started, out)?;
                                started = true;
                            }
                        }
                    }
                    self.encode(total, &part, index, index + 1 == count, &cutter.values)
                }
            };
            if body.len() > limits.max_record_bytes {
                return Err(Error::new(
                    ErrorKind::Sink,
                    format!(
                        "a record of {} bytes exceeds publish.max_record_bytes",
                        body.len()
                    ),
                )
                .at("xid", self.info.xid.as_str())
                .at("schema", self.schema)
                .at("chunk", index));
            }
            out.push(self.tx_record(body, !started));
            started = true;
        }
        Ok(())
    }

    /// `_fit`: `part` in pieces whose records fit `max_record_bytes` (changes in order).
    fn fit<'a>(
        &self,
        part: Vec<Wire<'t, 'a>>,
        cutter: &mut Cutter<'t>,
    ) -> Result<Vec<Vec<Wire<'t, 'a>>>> {
        let envelope = self.encode(MAX_CHUNK_NO, &[], MAX_CHUNK_NO as usize, false, &[]);
        let budget = signed(self.limits.max_record_bytes) - signed(envelope.len());
        let mut pieces = Vec::new();
        let mut current: Vec<Wire<'t, 'a>> = Vec::new();
        let mut used: i64 = 0;
        for mut wire in part {
            let mut size = signed(size_of(&wire, &cutter.values));
            if size > budget {
                size = self.shrink(&mut wire, budget, cutter)?;
            }
            if !current.is_empty() && used + size + 1 > budget {
                pieces.push(std::mem::take(&mut current));
                used = 0;
            }
            current.push(wire);
            used += size + 1;
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        Ok(pieces)
    }

    /// `_shrink`: move a change's longest values out until it fits `budget` alone; its
    /// size then.
    fn shrink(&self, wire: &mut Wire<'t, '_>, budget: i64, cutter: &mut Cutter<'t>) -> Result<i64> {
        for length in wire.text_sizes() {
            if length < SMALLEST_MOVED {
                break;
            }
            wire.externalize(length - 1, cutter)?;
            let size = signed(size_of(wire, &cutter.values));
            if size <= budget {
                return Ok(size);
            }
        }
        Err(Error::new(
            ErrorKind::Sink,
            "a row change does not fit publish.max_record_bytes even with its long values \
             moved to value_chunk records",
        )
        .at("xid", self.info.xid.as_str())
        .at("schema", self.schema)
        .at("table", wire.change.table.table())
        .at("bytes", size_of(wire, &cutter.values)))
    }

    /// `_json_budget`: room for a chunk's data (as a JSON string) in a chunk record.
    fn json_budget(&self) -> i64 {
        let mut empty = Vec::new();
        let id = MAX_CHUNK_NO.to_string();
        write_chunk(
            &mut empty,
            self.schema,
            &self.info.xid,
            self.info.commit_scn,
            &id,
            MAX_CHUNK_NO,
            false,
            "",
        );
        signed(self.limits.max_record_bytes) - signed(empty.len()) + 2
    }

    /// A tx record's body (`_encode`).
    fn encode(
        &self,
        total: u64,
        part: &[Wire<'_, '_>],
        index: usize,
        last: bool,
        cuts: &[super::chunks::Cut<'_>],
    ) -> Vec<u8> {
        // A captured change is about a kilobyte of JSON (its columns' types, its position).
        let mut out = Vec::with_capacity(self.info_json.len() + 256 + part.len() * 1024);
        write_tx_head(
            &mut out,
            self.schema,
            self.info_json,
            total,
            index as u64,
            last,
        );
        for (i, wire) in part.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_change(&mut out, wire.change, &wire.moved, cuts);
        }
        out.extend_from_slice(TX_TAIL);
        out
    }

    fn tx_record(&self, body: Vec<u8>, start: bool) -> OutRecord<'t> {
        let mut headers = self.headers.clone();
        headers.push(start_header(start));
        OutRecord {
            schema: self.schema,
            value: body,
            headers,
            kind: RecordKind::Tx,
        }
    }

    /// The `value_chunk` records of the cut `id` (`Cutter.chunks`, `_chunk_record`);
    /// only the first may carry `start=1`.
    fn chunk_records(
        &self,
        cutter: &Cutter<'_>,
        id: u32,
        start: bool,
        out: &mut Vec<OutRecord<'t>>,
    ) -> Result<()> {
        let Some(cut) = usize::try_from(id).ok().and_then(|i| cutter.values.get(i)) else {
            return Ok(()); // references are only ever made by this cutter
        };
        let name = id.to_string();
        let last = cut.pieces.len().saturating_sub(1);
        for (seq, range) in cut.pieces.iter().enumerate() {
            let data = &cut.text[range.clone()];
            let mut body = Vec::with_capacity(data.len() + 160);
            write_chunk(
                &mut body,
                self.schema,
                &self.info.xid,
                self.info.commit_scn,
                &name,
                seq as u64,
                seq == last,
                data,
            );
            if body.len() > self.limits.max_record_bytes {
                return Err(Error::new(
                    ErrorKind::Sink,
                    format!(
                        "a value_chunk record of {} bytes exceeds publish.max_record_bytes",
                        body.len()
                    ),
                )
                .at("xid", self.info.xid.as_str())
                .at("value", name.as_str())
                .at("seq", seq));
            }
            let mut scn = Vec::new();
            write_u64(&mut scn, self.info.commit_scn);
            out.push(OutRecord {
                schema: self.schema,
                value: body,
                headers: vec![
                    ("v", version()),
                    ("kind", b"value_chunk".to_vec()),
                    ("commit_scn", scn),
                    ("xid", self.info.xid.as_bytes().to_vec()),
                    start_header(start && seq == 0),
                ],
                kind: RecordKind::ValueChunk,
            });
        }
        Ok(())
    }
}

/// Move a value object out as its JSON document (`form = "json"`).
fn cut_json<'c>(value: &Value<'_>, slot: Slot, cutter: &mut Cutter<'c>) -> Result<Moved> {
    let mut doc = Vec::new();
    write_value(&mut doc, value);
    // Our own JSON of valid UTF-8 strings: valid UTF-8.
    let doc = String::from_utf8(doc)
        .map_err(|_| Error::new(ErrorKind::Value, "a value's JSON is not UTF-8"))?;
    let id = cutter.cut(Cow::Owned(doc), true)?;
    Ok(Moved { slot, id })
}

/// `_size`: the bytes of one change's JSON.
fn size_of(wire: &Wire<'_, '_>, cuts: &[super::chunks::Cut<'_>]) -> usize {
    let mut out = Vec::with_capacity(512);
    write_change(&mut out, wire.change, &wire.moved, cuts);
    out.len()
}

fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
