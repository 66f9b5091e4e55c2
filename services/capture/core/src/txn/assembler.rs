//! The per-thread transaction assembler (`redo/txn/assembler.py`): decoded records in,
//! committed transactions out. Pieces wait per XID in a [`ChangeStore`]; a commit
//! assembles them into row changes (names and values decoded only then); a rollback
//! drops them; a partial rollback removes exactly the piece it undid. Records that change
//! no captured object are handled from their opcodes and object numbers (the triage).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::changes::Context;
use super::decode::{
    Decoded, Held, Policy, SKIPPED_FILTERED, SKIPPED_UNKNOWN, UNDECODED_UNKNOWN, decode_held,
    undecoded_error,
};
use super::dict::{Codecs, Dictionary, TableDef};
use super::lobs::lob_ids;
use super::piece::{
    At, Item, LobRef, Piece, PieceKind, RollbackMark, Segment, Source, unattributed, undecoded_mark,
};
use super::store::ChangeStore;
use super::system::SystemChange;
use super::triage::{QuickEffects, SkipMap, TxBoundary, quick_effects_into};
use crate::error::{Error, ErrorKind, Result};
use crate::ops::dispatch::{Op, ParsedVector, RecordDecoder, RecordRef};
use crate::ops::undo::TxEnd;
use crate::ops::{IntMap, Xid};
use crate::records::Rba;
use crate::values::datetimes::TimeZones;
use crate::wire::model::RowChange;

/// What to do with a committed change of a captured table that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUndecodable {
    /// Raise `UndecodableChange` at its commit.
    Stop,
    /// Publish it marked `undecoded`.
    PublishMarked,
}

/// How one thread's assembler names, filters and decodes (`AssemblerOptions`).
#[derive(Debug, Clone)]
pub struct AssemblerOptions {
    pub thread: u64,
    pub db_id: u64,
    pub db_name: String,
    pub include_unknown: bool,
    pub triage: bool,
    pub on_undecodable: OnUndecodable,
}

/// A transaction seen but not yet committed or rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTransaction {
    pub xid: Xid,
    pub start_scn: u64,
    pub start_rba: Rba,
}

/// A commit's time as the redo gives it: the commit's own UNIX time (UTC), or the raw
/// redo time of the newest record with one (the server's zone), or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitTime {
    None,
    Unix(u32),
    Redo(u32),
}

/// A committed transaction with its row changes in redo order, decoded with the
/// dictionary version `dictionary`; its pieces stay with it for decoding again with
/// another version.
#[derive(Debug)]
pub struct Committed {
    pub xid: Xid,
    pub thread: u64,
    pub commit_scn: u64,
    pub commit_time: CommitTime,
    pub commit_rba: Rba,
    pub start_scn: u64,
    pub start_rba: Rba,
    pub changes: Vec<RowChange<'static>>,
    /// Its changes of the SYS dictionary tables (never published).
    pub system: Vec<SystemChange>,
    pub held: Held,
    pub dictionary: Arc<Dictionary>,
    pub ctx: Arc<Context>,
    pub policy: Policy,
}

/// Counter names (`Counter[str]` keys on the Python side).
pub type Counters = BTreeMap<String, u64>;

/// Open transactions in the order they were opened (Python's dict order).
#[derive(Debug, Default)]
struct OpenSet {
    order: BTreeMap<u64, OpenTransaction>,
    index: IntMap<(u16, u16, Option<u32>), u64>,
    next: u64,
}

impl OpenSet {
    fn get(&self, xid: Xid) -> Option<&OpenTransaction> {
        self.index
            .get(&(xid.usn, xid.slot, xid.sqn))
            .and_then(|n| self.order.get(n))
    }

    fn insert(&mut self, txn: OpenTransaction) {
        let key = (txn.xid.usn, txn.xid.slot, txn.xid.sqn);
        if let Some(n) = self.index.get(&key) {
            self.order.insert(*n, txn);
            return;
        }
        self.next += 1;
        self.index.insert(key, self.next);
        self.order.insert(self.next, txn);
    }

    fn pop(&mut self, xid: Xid) -> Option<OpenTransaction> {
        let n = self.index.remove(&(xid.usn, xid.slot, xid.sqn))?;
        self.order.remove(&n)
    }

    fn slot_owner(&self, usn: u16, slot: u16) -> Option<Xid> {
        self.order
            .values()
            .find(|t| t.xid.usn == usn && t.xid.slot == slot)
            .map(|t| t.xid)
    }

    fn clear(&mut self) {
        self.order.clear();
        self.index.clear();
    }
}

/// Feeds on one RAC thread's records in redo order (`TransactionAssembler`).
pub struct Assembler {
    pub dictionary: Arc<Dictionary>,
    pub options: AssemblerOptions,
    pub store: Box<dyn ChangeStore>,
    pub counters: Counters,
    open: OpenSet,
    last_ts: Option<u32>,
    ctx: Arc<Context>,
    skip: SkipMap,
    decoder: RecordDecoder,
    effects: QuickEffects<'static>,
    items: Vec<Item>,
    /// Set when LOB redo naming no table was first met (the Python side logs it once).
    pub warned_unattributed: bool,
    /// Partial rollbacks that matched nothing (logged by the Python side).
    pub unmatched: Vec<(Xid, Rba, u64)>,
    /// Changes published marked undecoded (logged by the Python side).
    pub marked: Vec<(Xid, String, Option<Rba>, String)>,
}

/// The skip reasons of every object of `dictionary` (`_skip_reason`): the SYS dictionary
/// tables are always kept, and so are unknown objects above `max_obj`.
pub fn skip_map(dictionary: &Dictionary, include_unknown: bool) -> SkipMap {
    let mut map = SkipMap {
        reasons: IntMap::default(),
        default: (!include_unknown).then(|| SKIPPED_UNKNOWN.into()),
        keep_above: u32::try_from(dictionary.max_obj).unwrap_or(u32::MAX),
    };
    for (obj, table) in &dictionary.tables {
        let obj = u32::try_from(*obj).unwrap_or(u32::MAX);
        let reason = (!table.captured && !table.system).then(|| SKIPPED_FILTERED.into());
        map.reasons.insert(obj, reason);
    }
    map
}

fn refuse_unresolved_iots(dictionary: &Dictionary) -> Result<()> {
    let mut objs: Vec<&u64> = dictionary.tables.keys().collect();
    objs.sort_unstable();
    // Python walks the dict in insertion order; the first such table is named either way
    // only when there is one, which is what matters to a start that must refuse.
    for obj in objs {
        let table = &dictionary.tables[obj];
        if table.obj == *obj && table.captured && table.iot.is_some_and(|i| i.index_obj.is_none()) {
            return Err(Error::new(
                ErrorKind::Config,
                "captured index-organized table whose index object the dictionary does not \
                 name (load the dictionary from the database or a snapshot)",
            )
            .at("table", format!("{}.{}", table.owner, table.name))
            .at("obj", *obj));
        }
    }
    Ok(())
}

impl Assembler {
    /// An assembler over `dictionary` keeping its pieces in `store`.
    pub fn new(
        dictionary: Arc<Dictionary>,
        options: AssemblerOptions,
        store: Box<dyn ChangeStore>,
        zones: Arc<TimeZones>,
    ) -> Result<Self> {
        refuse_unresolved_iots(&dictionary)?;
        let ctx = Arc::new(Context {
            db_id: options.db_id,
            db_name: Arc::from(options.db_name.as_str()),
            thread: options.thread,
            codecs: Codecs::of(&dictionary),
            database_charset: dictionary.database_charset.clone(),
            zones,
        });
        let skip = skip_map(&dictionary, options.include_unknown);
        Ok(Assembler {
            dictionary,
            options,
            store,
            counters: Counters::new(),
            open: OpenSet::default(),
            last_ts: None,
            ctx,
            skip,
            decoder: RecordDecoder::new(),
            effects: QuickEffects::default(),
            items: Vec::new(),
            warned_unattributed: false,
            unmatched: Vec::new(),
            marked: Vec::new(),
        })
    }

    fn count(&mut self, name: &str, n: u64) {
        match self.counters.get_mut(name) {
            Some(v) => *v += n,
            None => {
                self.counters.insert(name.to_owned(), n);
            }
        }
    }

    /// Decode with `dictionary` from now on (a new version: later feeding, triage and
    /// commits use it; transactions still open keep their pieces).
    pub fn set_dictionary(&mut self, dictionary: Arc<Dictionary>) -> Result<()> {
        refuse_unresolved_iots(&dictionary)?;
        self.ctx = Arc::new(super::decode::context_for(&self.ctx, &dictionary));
        self.skip = skip_map(&dictionary, self.options.include_unknown);
        self.dictionary = dictionary;
        Ok(())
    }

    fn policy(&self) -> Policy {
        Policy {
            marked: self.options.on_undecodable == OnUndecodable::PublishMarked,
            include_unknown: self.options.include_unknown,
        }
    }

    fn skip_reason(&self, obj: u64) -> Option<&'static str> {
        match self.dictionary.table_for(obj) {
            None if self.options.include_unknown => None,
            None if self.dictionary.maybe_new(obj) => None,
            None => Some(SKIPPED_UNKNOWN),
            Some(t) if t.captured || t.system => None,
            Some(_) => Some(SKIPPED_FILTERED),
        }
    }

    fn segment(&self, obj: u32) -> Segment {
        match self.dictionary.table_for(u64::from(obj)) {
            None => Segment::default(),
            Some(t) => Segment {
                captured_iot: t.iot.is_some() && t.captured,
                cluster_key_columns: t.cluster_key_columns,
            },
        }
    }

    /// (keep?, table) for an object number, counting what is skipped (`_table`).
    fn table(&mut self, obj: u64) -> (bool, Option<Arc<TableDef>>) {
        let table = self.dictionary.table_for(obj).cloned();
        if let Some(reason) = self.skip_reason(obj) {
            self.count(reason, 1);
            return (false, table);
        }
        (true, table)
    }

    /// Take one record; the transactions it commits go to `done` (`feed`).
    pub fn feed(
        &mut self,
        rec: &RecordRef<'_>,
        at: &At,
        timestamp: Option<u32>,
        done: &mut Vec<Committed>,
    ) -> Result<()> {
        if timestamp.is_some() {
            self.last_ts = timestamp;
        }
        if !self.options.triage {
            return self.feed_decoded(rec, at, done);
        }
        // The effects borrow their reasons from the skip map, which lives as long as self.
        let mut effects = std::mem::take(&mut self.effects);
        let quick = {
            // SAFETY-free lifetime juggling: reasons are &'static via owned copies below.
            let mut local = QuickEffects::default();
            let ok = quick_effects_into(rec, &self.skip, &mut local);
            effects.dropped.clear();
            effects.ends.clear();
            effects.rollbacks.clear();
            if ok {
                effects.ends.extend(local.ends.iter().copied());
                for r in &local.dropped {
                    effects.dropped.push(static_reason(r));
                }
                for (usn, slot, r) in &local.rollbacks {
                    effects.rollbacks.push((*usn, *slot, static_reason(r)));
                }
            }
            ok
        };
        let result = if quick {
            self.apply_quick(&effects, rec, at, done)
        } else {
            self.feed_decoded(rec, at, done)
        };
        self.effects = effects;
        result
    }

    fn apply_quick(
        &mut self,
        quick: &QuickEffects<'static>,
        rec: &RecordRef<'_>,
        at: &At,
        done: &mut Vec<Committed>,
    ) -> Result<()> {
        if !quick.rollbacks.is_empty() {
            let owners: Vec<Option<Xid>> = quick
                .rollbacks
                .iter()
                .map(|(usn, slot, _)| self.open.slot_owner(*usn, u16::from(*slot)))
                .collect();
            if owners
                .iter()
                .any(|o| o.is_some_and(|x| self.store.count(x) > 0))
            {
                return self.feed_decoded(rec, at, done);
            }
            for (owner, (_, _, reason)) in owners.iter().zip(&quick.rollbacks) {
                let name = if owner.is_some() {
                    reason
                } else {
                    "rollback_without_transaction"
                };
                self.count(name, 1);
            }
        }
        for reason in &quick.dropped {
            self.count(reason, 1);
        }
        for end in &quick.ends {
            self.boundary(end, at, done)?;
        }
        Ok(())
    }

    fn boundary(&mut self, end: &TxBoundary, at: &At, done: &mut Vec<Committed>) -> Result<()> {
        match end {
            TxBoundary::Begin(b) => {
                if b.xid.sqn.is_some_and(|s| s != 0) {
                    self.begin(b.xid, at);
                }
            }
            TxBoundary::End(e) => {
                if let Some(c) = self.end(e, at)? {
                    done.push(c);
                }
            }
        }
        Ok(())
    }

    fn feed_decoded(
        &mut self,
        rec: &RecordRef<'_>,
        at: &At,
        done: &mut Vec<Committed>,
    ) -> Result<()> {
        let mut decoder = std::mem::take(&mut self.decoder);
        let result = (|| {
            let ops = decoder.decode(rec, None)?;
            self.feed_ops(rec, at, &decoder, &ops, done)
        })();
        self.decoder = decoder;
        result
    }

    /// Feed a record decoded by the caller (`ops` from `decoder`, prepared for `rec`).
    pub fn feed_ops(
        &mut self,
        rec: &RecordRef<'_>,
        at: &At,
        decoder: &RecordDecoder,
        ops: &[ParsedVector<'_>],
        done: &mut Vec<Committed>,
    ) -> Result<()> {
        let lost = unattributed(ops);
        if lost > 0 {
            if self
                .counters
                .get("lob_redo_unattributed")
                .is_none_or(|n| *n == 0)
            {
                self.warned_unattributed = true;
            }
            self.count("lob_redo_unattributed", lost);
        }
        let mut items = std::mem::take(&mut self.items);
        items.clear();
        let source = Source {
            rec,
            decoder,
            ops,
            at: *at,
        };
        let made = {
            let segment = |obj: u32| self.segment(obj);
            source.pieces_of(&segment, &mut items)
        };
        let mut result = Ok(());
        for item in items.drain(..) {
            let step = match item {
                Item::Mark(mark) => self.partial_rollback(&mark),
                Item::Piece(xid, piece) => self.add(xid, piece),
            };
            if let Err(e) = step {
                result = Err(e);
                break;
            }
        }
        self.items = items;
        result?;
        made?;
        for pv in ops {
            match &pv.op {
                Op::Begin(b) => self.boundary(&TxBoundary::Begin(*b), at, done)?,
                Op::End(e) => self.boundary(&TxBoundary::End(*e), at, done)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn begin(&mut self, xid: Xid, at: &At) {
        if self.open.get(xid).is_none() {
            self.open.insert(OpenTransaction {
                xid,
                start_scn: at.scn,
                start_rba: at.rba,
            });
        }
    }

    fn add(&mut self, xid: Xid, piece: Piece) -> Result<()> {
        let (keep, table) = self.table(piece.obj);
        // A table created after this version (above `max_obj`) has no entry yet; its
        // LOB pages are kept like its rows, for the version its DDL makes.
        let unknown = table.is_none() && !self.dictionary.maybe_new(piece.obj);
        if piece.kind.is_lob() && (!keep || unknown) {
            self.count("lob_pieces_skipped", 1);
            return Ok(());
        }
        // The DDL of a table this version knows but does not capture is kept: a RENAME
        // may bring it into the filter, and the version the RENAME makes then names it.
        let filtered_ddl = piece.kind == PieceKind::Ddl && table.is_some();
        if !keep && !filtered_ddl {
            return Ok(());
        }
        if table.is_none()
            && piece.kind == PieceKind::Undecoded
            && !self.dictionary.maybe_new(piece.obj)
        {
            self.count(UNDECODED_UNKNOWN, 1);
            return Ok(());
        }
        let mut piece = piece;
        if let Some(t) = &table
            && let Some(iot) = t.iot
        {
            if piece.kind == PieceKind::Iot && iot.key_compressed {
                return Err(Error::undecodable(
                    "leaf rows of a key-compressed IOT are not decoded",
                )
                .at("table", format!("{}.{}", t.owner, t.name))
                .at("rba", piece.rba.to_string())
                .at("obj", piece.obj)
                .at("opcode", format!("10.{}", piece.redo_code)));
            }
            piece.obj = t.obj;
        }
        if self.open.get(xid).is_none() {
            self.open.insert(OpenTransaction {
                xid,
                start_scn: piece.scn,
                start_rba: piece.rba,
            });
        }
        self.store.append(xid, piece)?;
        self.count("pieces", 1);
        Ok(())
    }

    fn partial_rollback(&mut self, mark: &RollbackMark) -> Result<()> {
        let Some(owner) = self.open.slot_owner(mark.xid.usn, mark.xid.slot) else {
            self.count("rollback_without_transaction", 1);
            return Ok(());
        };
        let undone = |piece: &Piece| {
            if piece.kind == PieceKind::Ddl || piece.kind.is_lob() {
                return false;
            }
            if piece.data_obj != mark.data_obj {
                return false;
            }
            if piece.undo_code != mark.code || (piece.kind == PieceKind::Iot) != mark.iot {
                return false;
            }
            if mark.iot {
                return piece.bdba == mark.bdba;
            }
            if !mark.slots.is_empty() && !piece.slots.is_empty() {
                return piece.bdba == mark.bdba
                    && mark.slots.iter().all(|s| piece.slots.contains(s));
            }
            (piece.bdba, piece.slot) == (mark.bdba, mark.slot)
        };
        if let Some(removed) = self.store.remove_last(owner, &undone)? {
            self.count("pieces_rolled_back", 1);
            return self.void_lobs(owner, &removed);
        }
        if mark.iot {
            let reason = format!(
                "a partial rollback on an IOT matched no buffered change (applied 10.{} on \
                 block 0x{:08x})",
                mark.code, mark.bdba
            );
            return self.store.append(owner, undecoded_mark(mark, reason));
        }
        if self.table(mark.obj).0 {
            self.count("rollback_unmatched", 1);
            self.unmatched.push((owner, mark.rba, mark.obj));
        }
        Ok(())
    }

    fn void_lobs(&mut self, owner: Xid, removed: &Piece) -> Result<()> {
        let table = self.dictionary.table_for(removed.obj).cloned();
        for lid in lob_ids(&removed.after, table.as_deref()) {
            let mut piece = Piece::empty(
                PieceKind::LobVoid,
                &At {
                    rba: removed.rba,
                    scn: removed.scn,
                    sub_scn: removed.sub_scn,
                },
            );
            piece.con_id = removed.con_id;
            piece.obj = removed.obj;
            piece.data_obj = removed.data_obj;
            piece.lob = Some(LobRef {
                lid,
                column: 0,
                op: 0,
                length: None,
            });
            self.store.append(owner, piece)?;
        }
        Ok(())
    }

    fn end(&mut self, op: &TxEnd, at: &At) -> Result<Option<Committed>> {
        if op.rollback() {
            self.rollback(op.xid);
            return Ok(None);
        }
        if self.store.count(op.xid) == 0 {
            self.open.pop(op.xid);
            self.store.drop_xid(op.xid);
            self.count("empty_commits", 1);
            return Ok(None);
        }
        let time = match op.unix_time {
            Some(t) if t != 0 => CommitTime::Unix(t),
            _ => self.last_ts.map_or(CommitTime::None, CommitTime::Redo),
        };
        self.commit(op.xid, op.scn, at.rba, time)
    }

    /// Discard a transaction (5.4 with the rollback flag).
    pub fn rollback(&mut self, xid: Xid) {
        self.open.pop(xid);
        self.store.drop_xid(xid);
        self.count("rolled_back", 1);
    }

    /// Commit `xid` at `scn`/`rba`: its row changes, or None when it has none.
    pub fn commit(
        &mut self,
        xid: Xid,
        scn: u64,
        rba: Rba,
        time: CommitTime,
    ) -> Result<Option<Committed>> {
        let txn = self.open.pop(xid);
        let Some(txn) = txn.filter(|_| self.store.count(xid) > 0) else {
            self.store.drop_xid(xid);
            self.count("empty_commits", 1);
            return Ok(None);
        };
        let mut held = Held::default();
        self.store.take(xid, &mut |piece| {
            held.keep(piece);
            Ok(())
        })?;
        let policy = self.policy();
        let Decoded {
            changes,
            system,
            compressed,
            dropped,
        } = decode_held(&held, xid, rba, &self.dictionary, &self.ctx, policy)?;
        if compressed > 0 {
            self.count("compressed_rows", compressed);
        }
        for reason in &dropped {
            self.count(reason, 1);
        }
        self.check_undecoded(xid, scn, rba, &changes)?;
        self.store.drop_xid(xid);
        // changes kept for objects this version does not capture (above max_obj, or held
        // across a new version): the commit stays, a later version may decode them
        let revisable = dropped
            .iter()
            .any(|r| [SKIPPED_UNKNOWN, SKIPPED_FILTERED, UNDECODED_UNKNOWN].contains(r));
        if changes.is_empty() && system.is_empty() && !revisable {
            self.count("empty_commits", 1);
            return Ok(None);
        }
        self.count("committed", 1);
        Ok(Some(Committed {
            xid,
            thread: self.options.thread,
            commit_scn: scn,
            commit_time: time,
            commit_rba: rba,
            start_scn: txn.start_scn,
            start_rba: txn.start_rba,
            changes,
            system,
            held,
            dictionary: Arc::clone(&self.dictionary),
            ctx: Arc::clone(&self.ctx),
            policy,
        }))
    }

    fn check_undecoded(
        &mut self,
        xid: Xid,
        scn: u64,
        rba: Rba,
        changes: &[RowChange<'static>],
    ) -> Result<()> {
        for change in changes {
            let Some(why) = &change.undecoded else {
                continue;
            };
            self.count("undecoded_changes", 1);
            if self.options.on_undecodable != OnUndecodable::PublishMarked {
                if let Some(err) = undecoded_error(changes, xid, scn, rba, self.options.thread) {
                    return Err(err);
                }
            }
            let table = format!("{}.{}", change.table.owner(), change.table.table());
            let place = match change.position.as_ref().map(|p| &p.rba) {
                Some(crate::wire::model::RbaText::Rba(r)) => Some(*r),
                _ => None,
            };
            self.marked.push((xid, table, place, why.to_string()));
        }
        Ok(())
    }

    /// Transactions still open, oldest first (their start is the restart point).
    pub fn open_transactions(&self) -> Vec<OpenTransaction> {
        let mut out: Vec<OpenTransaction> = self.open.order.values().copied().collect();
        out.sort_by_key(|t| (t.start_scn, t.start_rba));
        out
    }

    /// Every open transaction with its pieces in redo order (`export_state`).
    pub fn export(&mut self) -> Result<Vec<(OpenTransaction, Vec<Piece>)>> {
        let mut out = Vec::new();
        for txn in self.open_transactions() {
            let mut pieces = Vec::new();
            self.store.pieces(txn.xid, &mut |p| {
                pieces.push(p);
                Ok(())
            })?;
            out.push((txn, pieces));
        }
        Ok(out)
    }

    /// Replace the open state with `state` (`import_state`).
    pub fn import(&mut self, state: Vec<(OpenTransaction, Vec<Piece>)>) -> Result<()> {
        let open: Vec<Xid> = self.open.order.values().map(|t| t.xid).collect();
        for xid in open {
            self.store.drop_xid(xid);
        }
        self.open.clear();
        for (txn, pieces) in state {
            self.open.insert(txn);
            for piece in pieces {
                self.store.append(txn.xid, piece)?;
            }
        }
        Ok(())
    }

    /// Commit every transaction still open at `scn`/`rba`, oldest first (the tests' way
    /// to see what an open transaction holds).
    pub fn commit_open(&mut self, scn: u64, rba: Rba, time: CommitTime) -> Result<Vec<Committed>> {
        let mut out = Vec::new();
        for txn in self.open_transactions() {
            if let Some(c) = self.commit(txn.xid, scn, rba, time)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}

fn static_reason(reason: &str) -> &'static str {
    match reason {
        SKIPPED_UNKNOWN => SKIPPED_UNKNOWN,
        SKIPPED_FILTERED => SKIPPED_FILTERED,
        "lob_redo_unattributed" => "lob_redo_unattributed",
        "lob_pieces_skipped" => "lob_pieces_skipped",
        "" => "",
        _ => "skipped_other",
    }
}
