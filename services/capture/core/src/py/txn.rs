//! The transaction layer's binding: a [`ThreadCore`] per RAC thread (`ThreadCore`), built
//! from the dictionary's tables as plain tuples, reading a log with the GIL released,
//! and its committed transactions (`Commit`), which serialise themselves into the Kafka
//! records the Python publisher writes. No Python object is made per row; the open
//! state crosses as the Python assembler's JSON (`export_state`) and as tuples back.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::wire::{RecordTuples, limits};
use super::{IntoPyResult, PyRedoFile, PyTimeZones, status_of, to_py_err};
use crate::ops::{IntMap, Xid};
use crate::records::{Rba, ReadState};
use crate::txn::assembler::{
    Assembler, AssemblerOptions, CommitTime, Committed, OnUndecodable, OpenTransaction,
};
use crate::txn::decode::{Held, context_for, decode_held, undecoded_error};
use crate::txn::dict::{ColumnDef, Dictionary, IotDef, TableDef};
use crate::txn::piece::{At, Fragment, LobRef, Piece, PieceKind, Raw, Values, xid_text};
use crate::txn::store::{ChangeStore, MemoryStore, SpillingStore};
use crate::txn::system::SystemChange;
use crate::txn::thread::{OnDirectLoad, Stage, ThreadCore};
use crate::values::tz::civil_from_seconds;
use crate::wire::json::{Timestamp, write_str};
use crate::wire::model::{ColumnInfo, Operation, RowChange, Transaction, TransactionInfo};
use crate::wire::records::{OutRecord, RecordKind, RecordLimits, transaction_records};

type InfoTuple = (
    String,
    Option<u64>,
    Option<u64>,
    Option<i64>,
    bool,
    Option<String>,
);
/// (seg_col, name, type_code, type_name, scale, charset_form, info)
type ColumnTuple = (i64, String, u32, String, Option<i64>, u32, InfoTuple);
/// (objs, obj, owner, name, columns, pk, data_obj, iot, captured, cluster_key_columns,
/// system)
type TableTuple = (
    Vec<u64>,
    u64,
    String,
    String,
    Vec<ColumnTuple>,
    Vec<String>,
    Option<u64>,
    Option<(Option<u64>, Option<u64>, bool)>,
    bool,
    i64,
    bool,
);
/// (db_id, db_name, database charset, national charset, max_obj)
type DbTuple = (u64, String, String, String, u64);
type RbaTuple = (u32, u64, u64);
type XidTuple = (u16, u16, Option<u32>);
type FragmentTuple = (Vec<u8>, bool, bool, (u64, u64), Option<(u64, u64)>);
/// A commit time: (year, month, day, hour, minute, second, microsecond, UTC offset in
/// µs or None).
type MomentTuple = (u16, u8, u8, u8, u8, u8, u32, Option<i64>);

/// The commit time of a commit's own UNIX time: UTC (`datetime.fromtimestamp(value, UTC)`).
fn unix_timestamp(value: u32) -> Timestamp {
    let (year, month, day, hour, minute, second) = civil_from_seconds(i64::from(value));
    Timestamp {
        year: year as u16,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        microsecond: 0,
        offset_us: Some(0),
    }
}

fn timestamp_of(t: MomentTuple) -> Timestamp {
    Timestamp {
        year: t.0,
        month: t.1,
        day: t.2,
        hour: t.3,
        minute: t.4,
        second: t.5,
        microsecond: t.6,
        offset_us: t.7,
    }
}

fn rba_of(t: RbaTuple) -> Rba {
    Rba {
        sequence: t.0,
        block: t.1,
        offset: t.2,
    }
}

fn rba_tuple(r: Rba) -> RbaTuple {
    (r.sequence, r.block, r.offset)
}

fn xid_tuple(x: Xid) -> XidTuple {
    (x.usn, x.slot, x.sqn)
}

fn dictionary_of(db: DbTuple, tables: Vec<TableTuple>) -> Dictionary {
    let mut map: IntMap<u64, Arc<TableDef>> = IntMap::default();
    for (objs, obj, owner, name, columns, pk, data_obj, iot, captured, cluster, system) in tables {
        let columns = columns
            .into_iter()
            .map(
                |(seg_col, name, type_code, type_name, scale, charset_form, info)| ColumnDef {
                    seg_col,
                    name,
                    type_code,
                    type_name,
                    scale,
                    charset_form,
                    info: ColumnInfo {
                        type_name: info.0,
                        length: info.1,
                        precision: info.2,
                        scale: info.3,
                        nullable: info.4,
                        charset: info.5,
                    },
                },
            )
            .collect();
        let iot = iot.map(|(index_obj, overflow_obj, key_compressed)| IotDef {
            index_obj,
            overflow_obj,
            key_compressed,
        });
        let mut table = TableDef::new(obj, owner, name, columns, pk, data_obj, iot, captured);
        table.cluster_key_columns = cluster;
        table.system = system;
        let table = Arc::new(table);
        for o in objs {
            map.insert(o, Arc::clone(&table));
        }
    }
    Dictionary {
        db_id: db.0,
        db_name: db.1,
        database_charset: db.2,
        national_charset: db.3,
        tables: map,
        max_obj: db.4,
    }
}

/// A dictionary version built once (`CoreDictionary`): given to thread cores
/// (`set_dictionary`) and to commits to decode them with (`records(dictionary=…)`).
#[pyclass(name = "Dictionary", module = "drcapture_core._core", frozen)]
pub(crate) struct PyDictionary {
    inner: Arc<Dictionary>,
}

#[pymethods]
impl PyDictionary {
    /// `tables`: one tuple per table (see `ThreadCore`); `db`: (db_id, db_name,
    /// database charset, national charset, max_obj).
    #[new]
    fn new(tables: Vec<TableTuple>, db: DbTuple) -> Self {
        PyDictionary {
            inner: Arc::new(dictionary_of(db, tables)),
        }
    }

    /// How many object numbers it maps to a table.
    fn __len__(&self) -> usize {
        self.inner.tables.len()
    }

    /// The same version as `other` (one build, not equal contents).
    fn same(&self, other: &PyDictionary) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// One RAC thread's reader in the core.
#[pyclass(name = "ThreadCore", module = "drcapture_core._core")]
pub(crate) struct PyThreadCore {
    inner: ThreadCore,
    graveyard: Graveyard,
}

/// What freed commits leave behind, freed by their thread core's next read with the
/// GIL released: freeing a transaction's changes and pieces is a walk over many small
/// allocations, which Python's deallocation would otherwise do holding the GIL.
type Graveyard = Arc<Mutex<Vec<Remains>>>;

/// A freed commit's allocations: its transaction (changes and header), the pieces it
/// kept to decode it again, its SYS changes, its other decoding and its records made
/// ahead.
#[allow(dead_code)] // held only to be dropped
struct Remains {
    tx: Transaction<'static>,
    held: Held,
    system: Vec<SystemChange>,
    other: Option<Decoded>,
    prepared: Option<Prepared>,
}

/// Free what freed commits left behind (no GIL needed).
fn bury(graveyard: &Graveyard) {
    let remains = match graveyard.lock() {
        Ok(mut found) => std::mem::take(&mut *found),
        Err(_) => return, // a panic while pushing: what is there is freed with the core
    };
    drop(remains);
}

fn commit_time(t: CommitTime) -> Option<(&'static str, u32)> {
    match t {
        CommitTime::None => None,
        CommitTime::Unix(v) => Some(("unix", v)),
        CommitTime::Redo(v) => Some(("redo", v)),
    }
}

fn counters_dict<'py>(
    py: Python<'py>,
    map: &IntMap<(u8, u8), u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let mut items: Vec<_> = map.iter().collect();
    items.sort();
    for ((layer, code), n) in items {
        d.set_item(format!("{layer}.{code}"), n)?;
    }
    Ok(d)
}

// --- the open state as the Python assembler's JSON ---------------------------------------

fn hex_lower(b: &[u8]) -> String {
    crate::error::hex_lower(b)
}

fn write_raw(out: &mut Vec<u8>, raw: &Raw) {
    match raw {
        Raw::Null => out.extend_from_slice(b"null"),
        Raw::Bytes(b) => write_str(out, &hex_lower(b)),
        Raw::NotInRedo(r) => {
            out.extend_from_slice(b"{\"not_in_redo\":");
            write_str(out, r);
            out.push(b'}');
        }
        Raw::Part(f) => {
            out.extend_from_slice(b"{\"part\":");
            write_str(out, &hex_lower(&f.data));
            out.extend_from_slice(
                format!(
                    ",\"continues\":{},\"goes_on\":{},\"at\":[{},{}],\"next\":",
                    f.continues, f.goes_on, f.at.0, f.at.1
                )
                .as_bytes(),
            );
            match f.next {
                Some((a, b)) => out.extend_from_slice(format!("[{a},{b}]").as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
    }
}

fn write_values(out: &mut Vec<u8>, values: &Values) {
    out.push(b'[');
    for (i, (col, raw)) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(format!("[{col},").as_bytes());
        write_raw(out, raw);
        out.push(b']');
    }
    out.push(b']');
}

fn write_opt_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_piece(out: &mut Vec<u8>, p: &Piece) {
    out.extend_from_slice(b"{\"kind\":");
    write_str(out, p.kind.as_str());
    out.extend_from_slice(b",\"rba\":");
    write_str(out, &p.rba.to_string());
    let con = p.con_id.map_or("null".to_owned(), |c| c.to_string());
    out.extend_from_slice(
        format!(
            ",\"scn\":{},\"sub_scn\":{},\"con_id\":{con},\"obj\":{},\"data_obj\":{},\"redo_code\":{},\"undo_code\":{},\"bdba\":{},\"slot\":{},\"fb\":{},\"supp_type\":{},\"supp_fb\":{},\"row\":",
            p.scn, p.sub_scn, p.obj, p.data_obj, p.redo_code, p.undo_code, p.bdba, p.slot, p.fb, p.supp_type, p.supp_fb
        )
        .as_bytes(),
    );
    match p.row {
        Some((a, b)) => out.extend_from_slice(format!("[{a},{b}]").as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"before\":");
    write_values(out, &p.before);
    out.extend_from_slice(b",\"after\":");
    write_values(out, &p.after);
    out.extend_from_slice(b",\"supp\":");
    write_values(out, &p.supp);
    out.extend_from_slice(b",\"rows\":[");
    for (i, r) in p.rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_values(out, r);
    }
    out.extend_from_slice(b"],\"slots\":[");
    let slots: Vec<String> = p.slots.iter().map(i64::to_string).collect();
    out.extend_from_slice(slots.join(",").as_bytes());
    out.extend_from_slice(b"],\"ddl\":");
    write_opt_str(out, p.ddl.as_deref());
    let command = p.ddl_command.map_or("null".to_owned(), |c| c.to_string());
    out.extend_from_slice(format!(",\"ddl_command\":{command}").as_bytes());
    out.extend_from_slice(format!(",\"compressed\":{},\"before_rest\":", p.compressed).as_bytes());
    match &p.before_rest {
        Some(r) => write_raw(out, &Raw::NotInRedo(Arc::clone(r))),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"after_rest\":");
    match &p.after_rest {
        Some(r) => write_raw(out, &Raw::NotInRedo(Arc::clone(r))),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"lob\":");
    match &p.lob {
        None => out.extend_from_slice(b"null"),
        Some(l) => {
            out.extend_from_slice(b"{\"lid\":");
            write_str(out, &hex_lower(&l.lid));
            let length = l.length.map_or("null".to_owned(), |n| n.to_string());
            out.extend_from_slice(
                format!(
                    ",\"column\":{},\"op\":{},\"length\":{length}}}",
                    l.column, l.op
                )
                .as_bytes(),
            );
        }
    }
    out.push(b'}');
}

/// A piece as the Python face hands it back (see `native_txn._piece_tuple`).
type RawIn<'py> = Bound<'py, PyAny>;

fn raw_in(item: &Bound<'_, PyAny>) -> PyResult<Raw> {
    if item.is_none() {
        return Ok(Raw::Null);
    }
    if let Ok(b) = item.cast::<PyBytes>() {
        return Ok(Raw::Bytes(b.as_bytes().into()));
    }
    if let Ok(s) = item.extract::<String>() {
        return Ok(Raw::NotInRedo(Arc::from(s.as_str())));
    }
    let (data, continues, goes_on, at, next): FragmentTuple = item.extract()?;
    Ok(Raw::Part(Box::new(Fragment {
        data: data.into(),
        continues,
        goes_on,
        at,
        next,
    })))
}

fn values_in(items: &Bound<'_, PyAny>) -> PyResult<Values> {
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let (col, raw): (i64, RawIn<'_>) = item.extract()?;
        out.push((col, raw_in(&raw)?));
    }
    Ok(out)
}

fn piece_in(t: &Bound<'_, PyTuple>) -> PyResult<Piece> {
    let get = |i: usize| t.get_item(i);
    let kind: String = get(0)?.extract()?;
    let kind = PieceKind::from_name(&kind)
        .ok_or_else(|| PyValueError::new_err(format!("not a piece kind: {kind:?}")))?;
    let rba: RbaTuple = get(1)?.extract()?;
    let mut p = Piece::empty(
        kind,
        &At {
            rba: rba_of(rba),
            scn: get(2)?.extract()?,
            sub_scn: get(3)?.extract()?,
        },
    );
    p.con_id = get(4)?.extract()?;
    p.obj = get(5)?.extract()?;
    p.data_obj = get(6)?.extract()?;
    p.redo_code = get(7)?.extract()?;
    p.undo_code = get(8)?.extract()?;
    p.bdba = get(9)?.extract()?;
    p.slot = get(10)?.extract()?;
    p.fb = get(11)?.extract()?;
    p.supp_type = get(12)?.extract()?;
    p.supp_fb = get(13)?.extract()?;
    p.row = get(14)?.extract()?;
    p.before = values_in(&get(15)?)?;
    p.after = values_in(&get(16)?)?;
    p.supp = values_in(&get(17)?)?;
    for r in get(18)?.try_iter()? {
        p.rows.push(values_in(&r?)?);
    }
    p.slots = get(19)?.extract()?;
    p.ddl = get(20)?.extract()?;
    p.compressed = get(21)?.extract()?;
    let rest = |i: usize| -> PyResult<Option<Arc<str>>> {
        Ok(get(i)?
            .extract::<Option<String>>()?
            .map(|s| Arc::from(s.as_str())))
    };
    p.before_rest = rest(22)?;
    p.after_rest = rest(23)?;
    let lob: Option<(Vec<u8>, i64, i64, Option<i64>)> = get(24)?.extract()?;
    p.lob = lob.map(|(lid, column, op, length)| LobRef {
        lid: lid.into(),
        column,
        op,
        length,
    });
    p.ddl_command = get(25)?.extract()?;
    Ok(p)
}

#[pymethods]
impl PyThreadCore {
    /// A thread's core. `dictionary`: the version it starts with (a `Dictionary` of
    /// tuples, one per table: object numbers naming it, obj, owner, name, columns, pk,
    /// data_obj, iot, captured, cluster_key_columns, system); `options`: (thread,
    /// db_id, db_name, include_unknown, triage, on_undecodable, on_direct_load);
    /// `spill`: (directory, threshold) or None (in memory); `start`: (rba, exclusive,
    /// scn).
    #[new]
    #[pyo3(signature = (dictionary, zones, options, spill, start))]
    #[allow(clippy::type_complexity)]
    fn new(
        dictionary: &PyDictionary,
        zones: &PyTimeZones,
        options: (u64, u64, String, bool, bool, String, String),
        spill: Option<(PathBuf, u64)>,
        start: (Option<RbaTuple>, bool, u64),
    ) -> PyResult<Self> {
        let dictionary = Arc::clone(&dictionary.inner);
        let (thread, db_id, db_name, include_unknown, triage, on_undecodable, on_direct) = options;
        let on_undecodable = match on_undecodable.as_str() {
            "stop" => OnUndecodable::Stop,
            "publish_marked" => OnUndecodable::PublishMarked,
            other => return Err(PyValueError::new_err(format!("on_undecodable {other:?}"))),
        };
        let on_direct_load = match on_direct.as_str() {
            "stop" => OnDirectLoad::Stop,
            "warn" => OnDirectLoad::Warn,
            other => return Err(PyValueError::new_err(format!("on_direct_load {other:?}"))),
        };
        let store: Box<dyn ChangeStore> = match spill {
            Some((dir, threshold)) => Box::new(SpillingStore::new(dir, threshold).py()?),
            None => Box::new(MemoryStore::default()),
        };
        let assembler = Assembler::new(
            dictionary,
            AssemblerOptions {
                thread,
                db_id,
                db_name,
                include_unknown,
                triage,
                on_undecodable,
            },
            store,
            Arc::new(zones.inner.clone()),
        )
        .py()?;
        Ok(PyThreadCore {
            inner: ThreadCore::new(
                assembler,
                start.0.map(rba_of),
                start.1,
                start.2,
                on_direct_load,
            ),
            graveyard: Graveyard::default(),
        })
    }

    /// Decode (feed, triage, commit) with `dictionary` from now on.
    fn set_dictionary(&mut self, dictionary: &PyDictionary) -> PyResult<()> {
        self.inner
            .set_dictionary(Arc::clone(&dictionary.inner))
            .py()
    }

    /// Walk `file` from the state (next_block, resume_offset, stopped) from now on.
    fn open(&mut self, file: &PyRedoFile, state: (u64, u64, String)) -> PyResult<()> {
        let state = ReadState {
            next_block: state.0,
            resume_offset: state.1,
            stopped: status_of(&state.2)?,
        };
        self.inner.open(Arc::clone(&file.inner), state);
        Ok(())
    }

    /// Read up to `budget` records without the GIL: (commits, records, bytes, scn,
    /// ended, state, error, system): `error` is None or ("walk" | "feed", the
    /// exception), the batch then holding what was read before it; `system`: the read
    /// stopped right after a commit with changes of the SYS dictionary tables. With
    /// `prepare` = (moment, max_changes, max_value_bytes, max_record_bytes), each commit's
    /// records are also made in one more stretch without the GIL, for its commit time:
    /// its own UNIX time in UTC, or what `moment(raw redo time)` gives for a redo time
    /// (called once per distinct time; a commit without a time, or whose `moment` raised,
    /// is not prepared). [`PyCommit::records`] with the same arguments hands them back;
    /// an error is left for that call to raise.
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (budget, prepare=None))]
    fn read<'py>(
        &mut self,
        py: Python<'py>,
        budget: u64,
        prepare: Option<(Bound<'py, PyAny>, usize, usize, usize)>,
    ) -> PyResult<(
        Bound<'py, PyList>,
        u64,
        u64,
        u64,
        bool,
        Option<(u64, u64, &'static str)>,
        Option<(&'static str, Py<PyAny>)>,
        bool,
    )> {
        let inner = &mut self.inner;
        let graveyard = &self.graveyard;
        let (mut made, batch) = py.detach(|| {
            bury(graveyard);
            let mut batch = inner.read(budget);
            let made: Vec<PyCommit> = std::mem::take(&mut batch.commits)
                .into_iter()
                .map(|c| PyCommit::of(c, Some(Arc::clone(graveyard))))
                .collect();
            (made, batch)
        });
        if let Some((moment, max_changes, max_value_bytes, max_record_bytes)) = prepare {
            let limits = limits(max_value_bytes, max_record_bytes);
            let mut redo: HashMap<u32, Option<Timestamp>> = HashMap::new();
            for c in &made {
                if let CommitTime::Redo(value) = c.state.meta.commit_time {
                    if let std::collections::hash_map::Entry::Vacant(e) = redo.entry(value) {
                        // An error is met again where the publisher asks for the time:
                        // the commit is not prepared, and the read goes on.
                        let found = moment
                            .call1((value,))
                            .and_then(|t| t.extract::<Option<MomentTuple>>());
                        e.insert(found.ok().flatten().map(timestamp_of));
                    }
                }
            }
            py.detach(|| {
                for c in &mut made {
                    let at = match c.state.meta.commit_time {
                        CommitTime::None => None,
                        CommitTime::Unix(value) => Some(unix_timestamp(value)),
                        CommitTime::Redo(value) => redo[&value],
                    };
                    if let Some(at) = at {
                        c.make_ahead(Made {
                            at,
                            max_changes,
                            limits,
                        });
                    }
                }
            });
        }
        let commits = PyList::empty(py);
        for c in made {
            commits.append(Bound::new(py, c)?)?;
        }
        let state = self
            .inner
            .state()
            .map(|s| (s.next_block, s.resume_offset, s.stopped.value()));
        let error = match batch.error {
            None => None,
            Some((err, stage)) => {
                let stage = match stage {
                    Stage::Walk => "walk",
                    Stage::Feed => "feed",
                };
                Some((stage, to_py_err(err).into_value(py).into_any()))
            }
        };
        Ok((
            commits,
            batch.records,
            batch.bytes,
            batch.scn,
            batch.ended,
            state,
            error,
            batch.system,
        ))
    }

    /// Remove every spill file of this core (after a failed attempt).
    fn discard(&mut self) {
        self.inner.discard();
    }

    #[getter]
    fn last_rba(&self) -> Option<RbaTuple> {
        self.inner.last_rba.map(rba_tuple)
    }

    #[getter]
    fn last_scn(&self) -> u64 {
        self.inner.last_scn
    }

    /// The raw redo time of the newest record read that has one.
    #[getter]
    fn last_time(&self) -> Option<u32> {
        self.inner.last_time
    }

    #[getter]
    fn direct_load_rows(&self) -> u64 {
        self.inner.direct_load_rows
    }

    /// The assembler's counters (`Counter[str]` without zeros).
    fn counters(&self) -> Vec<(String, u64)> {
        self.inner
            .assembler
            .counters
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.clone(), *n))
            .collect()
    }

    /// The vector counters by opcode: (decoded, skipped, unknown).
    fn op_counters<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>, Bound<'py, PyDict>)> {
        let c = &self.inner.op_counters;
        Ok((
            counters_dict(py, &c.decoded)?,
            counters_dict(py, &c.skipped)?,
            counters_dict(py, &c.unknown)?,
        ))
    }

    /// What the Python side logs, taken once: (first LOB redo without table,
    /// unmatched partial rollbacks, marked changes, direct loads let through).
    #[allow(clippy::type_complexity)]
    fn take_notes(
        &mut self,
    ) -> (
        bool,
        Vec<(XidTuple, String, u64)>,
        Vec<(XidTuple, String, Option<String>, String)>,
        Vec<Vec<(&'static str, String)>>,
    ) {
        let a = &mut self.inner.assembler;
        let warned = std::mem::take(&mut a.warned_unattributed);
        let unmatched = std::mem::take(&mut a.unmatched)
            .into_iter()
            .map(|(x, r, o)| (xid_tuple(x), r.to_string(), o))
            .collect();
        let marked = std::mem::take(&mut a.marked)
            .into_iter()
            .map(|(x, t, r, why)| (xid_tuple(x), t, r.map(|r| r.to_string()), why))
            .collect();
        let loads = std::mem::take(&mut self.inner.direct_loads)
            .into_iter()
            .map(|facts| facts.into_iter().map(|(k, v)| (k, v.to_string())).collect())
            .collect();
        (warned, unmatched, marked, loads)
    }

    /// Open transactions, oldest first: (xid, start_scn, start_rba).
    fn open_transactions(&self) -> Vec<(XidTuple, u64, RbaTuple)> {
        self.inner
            .assembler
            .open_transactions()
            .into_iter()
            .map(|t| (xid_tuple(t.xid), t.start_scn, rba_tuple(t.start_rba)))
            .collect()
    }

    /// The open state as the Python assembler's `export_state` JSON text.
    fn export_state(&mut self) -> PyResult<String> {
        let thread = self.inner.assembler.options.thread;
        let state = self.inner.assembler.export().py()?;
        let mut out = Vec::new();
        out.extend_from_slice(
            format!("{{\"version\":2,\"thread\":{thread},\"transactions\":[").as_bytes(),
        );
        for (i, (txn, pieces)) in state.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"xid\":");
            write_str(&mut out, &xid_text(&txn.xid));
            out.extend_from_slice(
                format!(",\"start_scn\":{},\"start_rba\":", txn.start_scn).as_bytes(),
            );
            write_str(&mut out, &txn.start_rba.to_string());
            out.extend_from_slice(b",\"pieces\":[");
            for (j, p) in pieces.iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                write_piece(&mut out, p);
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"]}");
        String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// Replace the open state: [(xid, start_scn, start_rba, [piece tuple, …]), …].
    #[allow(clippy::type_complexity)]
    fn import_state(
        &mut self,
        transactions: Vec<(XidTuple, u64, RbaTuple, Vec<Bound<'_, PyTuple>>)>,
    ) -> PyResult<()> {
        let mut state = Vec::with_capacity(transactions.len());
        for (xid, start_scn, start_rba, pieces) in transactions {
            let xid = Xid {
                usn: xid.0,
                slot: xid.1,
                sqn: xid.2,
            };
            let pieces = pieces.iter().map(piece_in).collect::<PyResult<Vec<_>>>()?;
            state.push((
                OpenTransaction {
                    xid,
                    start_scn,
                    start_rba: rba_of(start_rba),
                },
                pieces,
            ));
        }
        self.inner.assembler.import(state).py()
    }

    /// Commit every open transaction at `scn`/`rba` (for the tests).
    fn commit_open<'py>(
        &mut self,
        py: Python<'py>,
        scn: u64,
        rba: RbaTuple,
    ) -> PyResult<Bound<'py, PyList>> {
        let found = self
            .inner
            .assembler
            .commit_open(scn, rba_of(rba), CommitTime::None)
            .py()?;
        let out = PyList::empty(py);
        for c in found {
            let graveyard = Some(Arc::clone(&self.graveyard));
            out.append(Bound::new(py, PyCommit::of(c, graveyard))?)?;
        }
        Ok(out)
    }

    /// (memory bytes, spilled transactions, spilled bytes) of the store.
    fn store_stats(&self) -> (u64, u64, u64) {
        let s = &self.inner.assembler.store;
        (
            s.memory_bytes(),
            s.spilled_transactions(),
            s.spilled_bytes(),
        )
    }
}

/// A committed transaction in the core: its changes as decoded with the dictionary
/// version it was prepared with, its pieces to decode it again with another.
#[pyclass(name = "Commit", module = "drcapture_core._core")]
pub(crate) struct PyCommit {
    /// Boxed, so that the Python object is small (Python's own allocator, not `malloc`,
    /// with the GIL held) and the state is allocated where it is made, without the GIL.
    state: Box<CommitState>,
    /// Where its changes go when it is freed (None: freed at once).
    graveyard: Option<Graveyard>,
}

/// What a [`PyCommit`] holds.
struct CommitState {
    meta: Committed,
    tx: Transaction<'static>,
    /// The last other version it was decoded with, what that made and dropped.
    other: Option<Decoded>,
    /// Its records made ahead ([`PyThreadCore::read`]'s `prepare`, or `prepare`).
    prepared: Option<Prepared>,
}

/// A commit decoded with another dictionary version: the version, the transaction it
/// made, what it dropped.
type Decoded = (Arc<Dictionary>, Transaction<'static>, Vec<&'static str>);

/// A transaction of nothing, without allocating: what a freed commit keeps of its own.
fn empty_transaction() -> Transaction<'static> {
    let info = TransactionInfo {
        xid: String::new(),
        commit_scn: 0,
        commit_ts: Timestamp::utc(1970, 1, 1, 0, 0, 0),
        thread: 0,
        commit_rba: String::new(),
        start_scn: None,
        changes_total: 0,
        schemas: Vec::new(),
    };
    Transaction {
        info,
        changes: Vec::new(),
    }
}

fn transaction_of(c: &Committed, changes: Vec<RowChange<'static>>) -> Transaction<'static> {
    let mut schemas: Vec<String> = changes.iter().map(|ch| ch.owner().to_owned()).collect();
    schemas.sort();
    schemas.dedup();
    let info = TransactionInfo {
        xid: xid_text(&c.xid),
        commit_scn: c.commit_scn,
        commit_ts: Timestamp::utc(1970, 1, 1, 0, 0, 0),
        thread: c.thread,
        commit_rba: c.commit_rba.to_string(),
        start_scn: Some(c.start_scn),
        changes_total: changes.len() as u64,
        schemas,
    };
    Transaction { info, changes }
}

/// What records made ahead were made for: the commit time, `max_changes`, the limits.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Made {
    at: Timestamp,
    max_changes: usize,
    limits: RecordLimits,
}

/// A record made ahead, owning its schema's name ([`OutRecord`] borrows it from the
/// transaction).
struct ReadyRecord {
    schema: Box<str>,
    value: Vec<u8>,
    headers: Vec<(&'static str, Vec<u8>)>,
    kind: RecordKind,
}

impl ReadyRecord {
    fn of(mut r: OutRecord<'_>) -> Self {
        r.value.shrink_to_fit(); // kept until published: no room to spare
        ReadyRecord {
            schema: r.schema.into(),
            value: r.value,
            headers: r.headers,
            kind: r.kind,
        }
    }
}

/// A commit's records made ahead: the key and the records, for `made`.
struct Prepared {
    made: Made,
    key: Vec<u8>,
    records: Vec<ReadyRecord>,
}

impl Drop for PyCommit {
    fn drop(&mut self) {
        let Some(graveyard) = self.graveyard.take() else {
            return;
        };
        let remains = Remains {
            tx: std::mem::replace(&mut self.state.tx, empty_transaction()),
            held: std::mem::take(&mut self.state.meta.held),
            system: std::mem::take(&mut self.state.meta.system),
            other: self.state.other.take(),
            prepared: self.state.prepared.take(),
        };
        if let Ok(mut found) = graveyard.lock() {
            found.push(remains);
        }
    }
}

/// `(key, [(schema, value, headers, kind), …])` as Python objects.
fn records_tuple<'py, 'r>(
    py: Python<'py>,
    key: &[u8],
    records: impl Iterator<Item = (&'r str, &'r [u8], &'r [(&'static str, Vec<u8>)], RecordKind)>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
    let mut tuples = RecordTuples::new(py)?;
    let mut items = Vec::new();
    for (schema, value, headers, kind) in records {
        items.push(tuples.tuple(schema, value, headers, kind)?);
    }
    Ok((PyBytes::new(py, key), PyList::new(py, items)?))
}

impl PyCommit {
    /// Make the records for `made` and keep them (an error: none kept).
    fn make_ahead(&mut self, made: Made) {
        self.state.prepared = None;
        self.state.tx.info.commit_ts = made.at;
        if let Ok(found) = transaction_records(&self.state.tx, made.max_changes, &made.limits) {
            let records = found.records.into_iter().map(ReadyRecord::of).collect();
            self.state.prepared = Some(Prepared {
                made,
                key: found.key,
                records,
            });
        }
    }

    fn of(mut c: Committed, graveyard: Option<Graveyard>) -> Self {
        let changes = std::mem::take(&mut c.changes);
        let tx = transaction_of(&c, changes);
        PyCommit {
            state: Box::new(CommitState {
                meta: c,
                tx,
                other: None,
                prepared: None,
            }),
            graveyard,
        }
    }

    /// Its transaction as decoded with `dictionary` (None: the version it was prepared
    /// with), decoding it again when that is another version.
    fn transaction(
        &mut self,
        dictionary: Option<&PyDictionary>,
    ) -> PyResult<&mut Transaction<'static>> {
        let Some(version) = dictionary.map(|d| &d.inner) else {
            return Ok(&mut self.state.tx);
        };
        if Arc::ptr_eq(version, &self.state.meta.dictionary) {
            return Ok(&mut self.state.tx);
        }
        let cached = self
            .state
            .other
            .as_ref()
            .is_some_and(|(d, _, _)| Arc::ptr_eq(d, version));
        if !cached {
            let c = &self.state.meta;
            let ctx = context_for(&c.ctx, version);
            let decoded =
                decode_held(&c.held, c.xid, c.commit_rba, version, &ctx, c.policy).py()?;
            if !c.policy.marked
                && let Some(err) = undecoded_error(
                    &decoded.changes,
                    c.xid,
                    c.commit_scn,
                    c.commit_rba,
                    c.thread,
                )
            {
                return Err(to_py_err(err));
            }
            let tx = transaction_of(c, decoded.changes);
            self.state.other = Some((Arc::clone(version), tx, decoded.dropped));
        }
        match self.state.other.as_mut() {
            Some((_, tx, _)) => Ok(tx),
            None => Err(PyValueError::new_err("no decoded transaction")),
        }
    }
}

#[pymethods]
impl PyCommit {
    #[getter]
    fn xid(&self) -> XidTuple {
        xid_tuple(self.state.meta.xid)
    }

    #[getter]
    fn thread(&self) -> u64 {
        self.state.meta.thread
    }

    #[getter]
    fn commit_scn(&self) -> u64 {
        self.state.meta.commit_scn
    }

    /// ("unix", seconds) or ("redo", raw redo time), None when unknown.
    #[getter]
    fn commit_time<'py>(&self, py: Python<'py>) -> Option<(Bound<'py, PyString>, u32)> {
        // The kind as an interned text: asked for once per commit, not made each time.
        commit_time(self.state.meta.commit_time).map(|(kind, value)| {
            let kind = match kind {
                "unix" => intern!(py, "unix"),
                _ => intern!(py, "redo"),
            };
            (kind.clone(), value)
        })
    }

    #[getter]
    fn commit_rba(&self) -> RbaTuple {
        rba_tuple(self.state.meta.commit_rba)
    }

    #[getter]
    fn start_scn(&self) -> u64 {
        self.state.meta.start_scn
    }

    #[getter]
    fn start_rba(&self) -> RbaTuple {
        rba_tuple(self.state.meta.start_rba)
    }

    #[getter]
    fn changes_total(&self) -> usize {
        self.state.tx.changes.len()
    }

    #[getter]
    fn schemas(&self) -> Vec<String> {
        self.state.tx.info.schemas.clone()
    }

    /// It changed rows of the SYS dictionary tables.
    #[getter]
    fn has_system_changes(&self) -> bool {
        !self.state.meta.system.is_empty()
    }

    /// Its changes of the SYS dictionary tables, in redo order: (table, op, rowid,
    /// [(column, value or None), …]).
    #[allow(clippy::type_complexity)]
    fn system_changes(&self) -> Vec<(String, &'static str, String, Vec<(String, Option<String>)>)> {
        self.state
            .meta
            .system
            .iter()
            .map(|c| {
                (
                    c.table.clone(),
                    c.op.as_str(),
                    c.rowid.clone(),
                    c.values.clone(),
                )
            })
            .collect()
    }

    /// It was prepared with (decoded first with) the version `dictionary`.
    fn prepared_with(&self, dictionary: &PyDictionary) -> bool {
        Arc::ptr_eq(&dictionary.inner, &self.state.meta.dictionary)
    }

    /// What decoding it with `dictionary` left out, by counter (changes of objects that
    /// version does not capture or know); nothing for the version it was prepared with
    /// (the thread core counted those).
    fn dropped(&mut self, dictionary: &PyDictionary) -> PyResult<Vec<(&'static str, u64)>> {
        self.transaction(Some(dictionary))?;
        let mut out: Vec<(&'static str, u64)> = Vec::new();
        if let Some((d, _, dropped)) = &self.state.other
            && Arc::ptr_eq(d, &dictionary.inner)
        {
            for reason in dropped {
                match out.iter_mut().find(|(r, _)| r == reason) {
                    Some((_, n)) => *n += 1,
                    None => out.push((reason, 1)),
                }
            }
        }
        Ok(out)
    }

    /// The event model's header but the commit time, in one crossing: (xid, commit
    /// SCN, thread, commit RBA, start SCN, changes, schemas), the texts as Python's;
    /// decoded with `dictionary` when given.
    #[pyo3(signature = (dictionary=None))]
    #[allow(clippy::type_complexity)]
    fn header<'py>(
        &mut self,
        py: Python<'py>,
        dictionary: Option<PyRef<'_, PyDictionary>>,
    ) -> PyResult<(
        String,
        u64,
        u64,
        String,
        Option<u64>,
        u64,
        Bound<'py, PyTuple>,
    )> {
        let info = &self.transaction(dictionary.as_deref())?.info;
        Ok((
            info.xid.clone(),
            info.commit_scn,
            info.thread,
            info.commit_rba.clone(),
            info.start_scn,
            info.changes_total,
            PyTuple::new(py, &info.schemas)?,
        ))
    }

    /// The DDL changes: (owner, table, statement) in order.
    fn ddl(&self) -> Vec<(String, String, Option<String>)> {
        self.state
            .tx
            .changes
            .iter()
            .filter(|c| c.op == Operation::Ddl)
            .map(|c| {
                (
                    c.table.owner().to_owned(),
                    c.table.table().to_owned(),
                    c.ddl.as_ref().map(|d| d.to_string()),
                )
            })
            .collect()
    }

    /// The records of the transaction with `commit_ts` = (year, month, day, hour,
    /// minute, second, microsecond, utc offset in µs or None): (key, [(schema, value,
    /// headers, kind), …]): the ones made ahead for the same arguments if they were,
    /// else made now with the GIL released. `dictionary`: decode with that version
    /// (None: the one it was prepared with).
    #[allow(clippy::type_complexity)]
    #[pyo3(signature = (commit_ts, max_changes, max_value_bytes, max_record_bytes, dictionary=None))]
    fn records<'py>(
        &mut self,
        py: Python<'py>,
        commit_ts: MomentTuple,
        max_changes: usize,
        max_value_bytes: usize,
        max_record_bytes: usize,
        dictionary: Option<PyRef<'_, PyDictionary>>,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
        let made = Made {
            at: timestamp_of(commit_ts),
            max_changes,
            limits: limits(max_value_bytes, max_record_bytes),
        };
        let own = dictionary
            .as_deref()
            .is_none_or(|d| Arc::ptr_eq(&d.inner, &self.state.meta.dictionary));
        if let Some(p) = self
            .state
            .prepared
            .as_ref()
            .filter(|p| own && p.made == made)
        {
            let records = p
                .records
                .iter()
                .map(|r| (&*r.schema, r.value.as_slice(), r.headers.as_slice(), r.kind));
            return records_tuple(py, &p.key, records);
        }
        let tx = self.transaction(dictionary.as_deref())?;
        tx.info.commit_ts = made.at;
        let tx = &*tx;
        let found = py
            .detach(|| transaction_records(tx, max_changes, &made.limits))
            .py()?;
        let records = found
            .records
            .iter()
            .map(|r| (r.schema, r.value.as_slice(), r.headers.as_slice(), r.kind));
        records_tuple(py, &found.key, records)
    }

    /// What the records made ahead were made for: (commit_ts, max_changes,
    /// max_value_bytes, max_record_bytes) as [`records`](Self::records) takes them, None
    /// when there are none.
    #[getter]
    fn prepared_for(&self) -> Option<(MomentTuple, usize, usize, usize)> {
        self.state.prepared.as_ref().map(|p| {
            let (at, limits) = (p.made.at, p.made.limits);
            (
                (
                    at.year,
                    at.month,
                    at.day,
                    at.hour,
                    at.minute,
                    at.second,
                    at.microsecond,
                    at.offset_us,
                ),
                p.made.max_changes,
                limits.max_value_bytes,
                limits.max_record_bytes,
            )
        })
    }

    /// Make the records [`records`](Self::records) hands back for the same arguments
    /// now, with the GIL released; an error is left for that call to raise.
    fn prepare(
        &mut self,
        py: Python<'_>,
        commit_ts: MomentTuple,
        max_changes: usize,
        max_value_bytes: usize,
        max_record_bytes: usize,
    ) {
        let made = Made {
            at: timestamp_of(commit_ts),
            max_changes,
            limits: limits(max_value_bytes, max_record_bytes),
        };
        py.detach(|| self.make_ahead(made));
    }

    /// Each change as the JSON pydantic writes for `RowChange` (for `drcapture decode`);
    /// decoded with `dictionary` when given.
    #[pyo3(signature = (dictionary=None))]
    fn change_lines(
        &mut self,
        dictionary: Option<PyRef<'_, PyDictionary>>,
    ) -> PyResult<Vec<Vec<u8>>> {
        Ok(self
            .transaction(dictionary.as_deref())?
            .changes
            .iter()
            .map(|c| {
                let mut out = Vec::new();
                crate::wire::encode::write_change(&mut out, c, &[], &[]);
                out
            })
            .collect())
    }
}

/// Add the transaction layer's classes to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyThreadCore>()?;
    m.add_class::<PyCommit>()?;
    m.add_class::<PyDictionary>()?;
    Ok(())
}
