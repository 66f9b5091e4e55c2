//! One RAC thread's read in the core (the record loop of `thread_reader.py`): a log is
//! opened at a `ReadState`, its records walked up to a budget, each counted (vectors by
//! opcode), checked for direct-path loads of captured tables, and fed to the thread's
//! [`Assembler`]. Which log comes next (catalog, online logs, gaps) stays with the
//! Python `ThreadReader`, which calls [`ThreadCore::read`] with the GIL released.

use std::sync::Arc;

use super::assembler::{Assembler, Committed};
use super::dict::{Dictionary, TableDef};
use super::piece::At;
use crate::blocks::RedoFile;
use crate::error::{Error, ErrorKind, Fact, Result};
use crate::ops::IntMap;
use crate::ops::dispatch::{Op, OpCounters, RecordDecoder, RecordRef};
use crate::records::{Rba, ReadState, RecordWalker};

/// What to do with a direct-path load into a captured table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDirectLoad {
    /// Raise `DirectLoadGap`.
    Stop,
    /// Note it (the Python side logs it) and go on.
    Warn,
}

/// A direct-path load into a captured table: the facts `DirectLoadGap` names.
pub type DirectLoadFacts = Vec<(&'static str, Fact)>;

/// Where a read failed: walking the log (blocks, record headers, vectors) or feeding a
/// record to the assembler (its operations, rows, values, the spill store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Walk,
    Feed,
}

/// What one [`ThreadCore::read`] produced: the records read and the commits made before
/// it stopped, and why it stopped early, if it did.
#[derive(Debug, Default)]
pub struct Batch {
    pub commits: Vec<Committed>,
    pub records: u64,
    pub bytes: u64,
    pub scn: u64,
    /// The walk reached the end of what is readable now (the state says why).
    pub ended: bool,
    /// The error that ended the read, and where.
    pub error: Option<(Error, Stage)>,
    /// The read stopped right after a commit with changes of the SYS dictionary tables
    /// (the caller installs the dictionary version they make before reading on).
    pub system: bool,
}

/// One thread's walk and assembler.
pub struct ThreadCore {
    pub assembler: Assembler,
    pub op_counters: OpCounters,
    walker: Option<RecordWalker>,
    start: Option<Rba>,
    start_exclusive: bool,
    on_direct_load: OnDirectLoad,
    by_data_obj: IntMap<u64, Arc<TableDef>>,
    decoder: RecordDecoder,
    pub last_rba: Option<Rba>,
    pub last_scn: u64,
    pub last_time: Option<u32>,
    pub direct_load_rows: u64,
    /// Direct loads let through (`on_direct_load = warn`), for the Python side to log.
    pub direct_loads: Vec<DirectLoadFacts>,
}

impl ThreadCore {
    /// A thread core feeding `assembler`; reading starts at `start` (records before it
    /// are walked and counted, not fed; `start_exclusive`: nor the one at it).
    pub fn new(
        assembler: Assembler,
        start: Option<Rba>,
        start_exclusive: bool,
        start_scn: u64,
        on_direct_load: OnDirectLoad,
    ) -> Self {
        let by_data_obj = by_data_obj(&assembler.dictionary);
        ThreadCore {
            assembler,
            op_counters: OpCounters::default(),
            walker: None,
            start,
            start_exclusive,
            on_direct_load,
            by_data_obj,
            decoder: RecordDecoder::new(),
            last_rba: start,
            last_scn: start_scn,
            last_time: None,
            direct_load_rows: 0,
            direct_loads: Vec::new(),
        }
    }

    /// Decode with `dictionary` from now on (see [`Assembler::set_dictionary`]).
    pub fn set_dictionary(&mut self, dictionary: Arc<Dictionary>) -> Result<()> {
        self.assembler.set_dictionary(dictionary)?;
        self.by_data_obj = by_data_obj(&self.assembler.dictionary);
        Ok(())
    }

    /// Walk `file` from `state` from now on.
    pub fn open(&mut self, file: Arc<RedoFile>, state: ReadState) {
        self.walker = Some(RecordWalker::new(file, state));
    }

    /// Where the walk stands (`None` before a log is opened).
    pub fn state(&self) -> Option<ReadState> {
        self.walker.as_ref().map(RecordWalker::state)
    }

    /// The log being walked.
    pub fn file(&self) -> Option<&Arc<RedoFile>> {
        self.walker.as_ref().map(RecordWalker::file)
    }

    /// Read up to `budget` records of the open log. An error ends the read: the batch
    /// holds what was read before it (a record whose feeding failed is counted, its
    /// commits are not), and the error with where it happened.
    pub fn read(&mut self, budget: u64) -> Batch {
        let mut batch = Batch {
            scn: self.last_scn,
            ..Batch::default()
        };
        let Some(walker) = self.walker.as_mut() else {
            batch.ended = true;
            return batch;
        };
        let (endian, wide) = (walker.file().endian(), walker.file().header.wide_vectors());
        let mut done: Vec<Committed> = Vec::new();
        while batch.records < budget {
            let view = match walker.next_record() {
                Ok(Some(view)) => view,
                Ok(None) => {
                    batch.ended = true;
                    break;
                }
                Err(err) => {
                    batch.error = Some((err, Stage::Walk));
                    break;
                }
            };
            self.op_counters.tally(view.slots);
            batch.records += 1;
            batch.bytes += u64::from(view.header.length);
            let rba = view.rba;
            if let Some(start) = self.start
                && (rba < start || (self.start_exclusive && rba == start))
            {
                continue;
            }
            let rec = RecordRef::of(&view, endian, wide);
            let at = At {
                rba,
                scn: view.header.scn,
                sub_scn: u64::from(view.header.sub_scn),
            };
            // 0 is "no time recorded" (`redo_time` gives None)
            let time = view.header.timestamp.filter(|t| *t != 0);
            let fed = (|| {
                if view.slots.iter().any(|s| s.layer == 19 && s.code == 1) {
                    check_direct_load(
                        &mut self.decoder,
                        &rec,
                        &self.by_data_obj,
                        self.on_direct_load,
                        self.assembler.options.thread,
                        &mut self.direct_load_rows,
                        &mut self.direct_loads,
                    )?;
                }
                self.assembler.feed(&rec, &at, time, &mut done)
            })();
            if let Err(err) = fed {
                batch.error = Some((err, Stage::Feed));
                break;
            }
            let system = done.iter().any(|c| !c.system.is_empty());
            batch.commits.append(&mut done);
            self.last_rba = Some(rba);
            self.last_scn = self.last_scn.max(view.header.scn);
            if time.is_some() {
                self.last_time = time;
            }
            batch.scn = self.last_scn;
            if system {
                batch.system = true;
                break;
            }
        }
        batch
    }

    /// Remove every spill file (after a failed attempt; the core is not used again).
    pub fn discard(&mut self) {
        self.assembler.store.discard();
    }
}

/// The user tables by the data object their blocks carry (an IOT's by its index too).
fn by_data_obj(dictionary: &Dictionary) -> IntMap<u64, Arc<TableDef>> {
    let mut by_data_obj: IntMap<u64, Arc<TableDef>> = IntMap::default();
    let tables: Vec<&Arc<TableDef>> = dictionary.tables.values().filter(|t| !t.system).collect();
    for t in &tables {
        by_data_obj.insert(
            t.data_obj.filter(|d| *d != 0).unwrap_or(t.obj),
            Arc::clone(t),
        );
    }
    for t in &tables {
        if let Some(index) = t.iot.and_then(|i| i.index_obj) {
            by_data_obj.entry(index).or_insert_with(|| Arc::clone(t));
        }
    }
    by_data_obj
}

/// A direct-path load (19.1) into a captured table is a gap in the DR copy: never passed
/// over silently (`_check_direct_load`).
fn check_direct_load(
    decoder: &mut RecordDecoder,
    rec: &RecordRef<'_>,
    by_data_obj: &IntMap<u64, Arc<TableDef>>,
    policy: OnDirectLoad,
    thread: u64,
    rows_seen: &mut u64,
    noted: &mut Vec<DirectLoadFacts>,
) -> Result<()> {
    let ops = decoder.decode(rec, None)?;
    for parsed in &ops {
        let (data_obj, rows, block, load) = match &parsed.op {
            Op::Direct(load) => (u64::from(load.data_obj), load.rows.len(), None, Some(load)),
            Op::Undecodable {
                layer: 19,
                code: 1,
                reason,
            } => (
                u64::from(parsed.header.data_obj),
                0,
                Some(reason.clone()),
                None,
            ),
            _ => continue,
        };
        let table = by_data_obj.get(&data_obj);
        if let Some(load) = load
            && load.rows.is_empty()
            && !table.is_some_and(|t| t.iot.is_some() && !load.table_block)
        {
            continue;
        }
        let Some(table) = table.filter(|t| t.captured) else {
            continue;
        };
        *rows_seen += rows as u64;
        let mut facts: DirectLoadFacts = vec![
            (
                "table",
                Fact::from(format!("{}.{}", table.owner, table.name)),
            ),
            (
                "rows",
                if rows > 0 {
                    Fact::from(rows)
                } else {
                    Fact::from("unknown")
                },
            ),
        ];
        if let Some(block) = block {
            facts.push(("block", Fact::from(block)));
        }
        facts.push(("scn", Fact::from(rec.scn)));
        facts.push(("rba", Fact::from(rec.rba.to_string())));
        facts.push(("redo_thread", Fact::from(thread)));
        if policy == OnDirectLoad::Stop {
            return Err(Error::new(
                ErrorKind::DirectLoadGap,
                "a direct-path load (INSERT /*+ APPEND */, SQL*Loader direct) wrote rows into a \
                 captured table; redo holds them as blocks, not row changes, so they cannot be \
                 replicated. Re-synchronise the table (docs/CAPTURE.md) and restart, or set \
                 source.on_direct_load=warn to go on without them",
            )
            .with(&facts));
        }
        noted.push(facts);
    }
    Ok(())
}
