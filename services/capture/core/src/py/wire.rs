//! The serialiser's binding: a [`Transaction`] built from the Python event model's
//! objects (`TransactionInfo`, `RowChange` …, read by attribute), and its records. The
//! differential tests and the benchmark use it; the service will not (the row
//! assembler fills the Rust model directly).
//!
//! [`PyWireBuilder`] keeps what the row assembler would keep per table: one
//! [`TableShape`] per table and column set, shared by every change that has it, and one
//! copy of each database name.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::IntoPyResult;
use crate::wire::encode::SCHEMA_VERSION;
use crate::wire::json::{Timestamp, write_str, write_u64};
use crate::wire::model::{
    Column, ColumnId, ColumnInfo, Entry, Image, InvalidText, LobWrite, LobWrites, NotLogged,
    Operation, RbaText, RowChange, RowId, SourcePosition, TableShape, Transaction, TransactionInfo,
    Unsupported, Value,
};
use crate::wire::records::{OutRecord, RecordKind, RecordLimits, transaction_records};

type Text = Cow<'static, str>;

fn text(obj: &Bound<'_, PyAny>) -> PyResult<Text> {
    Ok(Cow::Owned(obj.extract::<String>()?))
}

fn attr_text(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Text> {
    text(&obj.getattr(name)?)
}

fn opt_text(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<Text>> {
    let value = obj.getattr(name)?;
    if value.is_none() {
        Ok(None)
    } else {
        text(&value).map(Some)
    }
}

fn attr<'py, T: FromPyObjectOwned<'py>>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<T> {
    obj.getattr(name)?.extract::<T>().map_err(Into::into)
}

/// A `datetime` as its fields and UTC offset (`utcoffset()`, to the microsecond).
fn timestamp(moment: &Bound<'_, PyAny>) -> PyResult<Timestamp> {
    let offset = moment.call_method0("utcoffset")?;
    let offset_us = if offset.is_none() {
        None
    } else {
        let days: i64 = attr(&offset, "days")?;
        let seconds: i64 = attr(&offset, "seconds")?;
        let micros: i64 = attr(&offset, "microseconds")?;
        Some((days * 86_400 + seconds) * 1_000_000 + micros)
    };
    Ok(Timestamp {
        year: attr(moment, "year")?,
        month: attr(moment, "month")?,
        day: attr(moment, "day")?,
        hour: attr(moment, "hour")?,
        minute: attr(moment, "minute")?,
        second: attr(moment, "second")?,
        microsecond: attr(moment, "microsecond")?,
        offset_us,
    })
}

fn info_of(info: &Bound<'_, PyAny>) -> PyResult<TransactionInfo> {
    Ok(TransactionInfo {
        xid: attr(info, "xid")?,
        commit_scn: attr(info, "commit_scn")?,
        commit_ts: timestamp(&info.getattr("commit_ts")?)?,
        thread: attr(info, "thread")?,
        commit_rba: attr(info, "commit_rba")?,
        start_scn: attr(info, "start_scn")?,
        changes_total: attr(info, "changes_total")?,
        schemas: attr(info, "schemas")?,
    })
}

fn column_info(info: &Bound<'_, PyAny>) -> PyResult<ColumnInfo> {
    Ok(ColumnInfo {
        type_name: attr(info, "type")?,
        length: attr(info, "length")?,
        precision: attr(info, "precision")?,
        scale: attr(info, "scale")?,
        nullable: attr(info, "nullable")?,
        charset: attr(info, "charset")?,
    })
}

/// A column value of the Python model (`None`, `str` or a value object by `kind`).
fn value_of(value: &Bound<'_, PyAny>) -> PyResult<Value<'static>> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if value.is_instance_of::<PyString>() {
        return Ok(Value::Text(text(value)?));
    }
    let kind: String = attr(value, "kind")?;
    Ok(match kind.as_str() {
        "invalid_text" => Value::InvalidText(Box::new(InvalidText {
            hex: attr_text(value, "hex")?,
            charset: attr_text(value, "charset")?,
        })),
        "unsupported" => Value::Unsupported(Box::new(Unsupported {
            oracle_type: attr_text(value, "oracle_type")?,
            hex: opt_text(value, "hex")?,
        })),
        "not_logged" => Value::NotLogged(Box::new(NotLogged {
            oracle_type: attr_text(value, "oracle_type")?,
            reason: attr_text(value, "reason")?,
        })),
        "lob_writes" => {
            let mut writes = Vec::new();
            for write in value.getattr("writes")?.try_iter()? {
                let write = write?;
                let data = write.getattr("data")?;
                if !data.is_instance_of::<PyString>() {
                    return Err(PyValueError::new_err(
                        "a LOB write to publish carries its data as text, not a value_ref",
                    ));
                }
                writes.push(LobWrite {
                    offset: attr(&write, "offset")?,
                    data: text(&data)?,
                });
            }
            Value::LobWrites(Box::new(LobWrites {
                oracle_type: attr_text(value, "oracle_type")?,
                writes,
                length: attr(value, "length")?,
            }))
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "not a column value to publish: kind {other:?} (value_ref is made by the serialiser)"
            )));
        }
    })
}

/// What identifies a shared [`TableShape`]: owner, table, primary key, and the columns
/// (the change's `columns` entries, then names only its images use, without a type).
#[derive(PartialEq, Eq, Hash)]
struct ShapeKey {
    owner: String,
    table: String,
    pk: Vec<String>,
    columns: Vec<(String, Option<ColumnInfo>)>,
}

/// Builds [`Transaction`]s from the Python model, sharing table shapes and database
/// names across the transactions it builds.
#[pyclass(name = "WireBuilder", module = "drcapture_core._core")]
pub(crate) struct PyWireBuilder {
    shapes: HashMap<ShapeKey, Arc<TableShape>>,
    db_names: HashMap<String, Arc<str>>,
}

impl PyWireBuilder {
    fn shape(&mut self, key: ShapeKey) -> Arc<TableShape> {
        if let Some(shape) = self.shapes.get(&key) {
            return Arc::clone(shape);
        }
        let columns = key
            .columns
            .iter()
            .map(|(name, info)| {
                // A name only an image uses has no type: it is never written in `columns`.
                let info = info.clone().unwrap_or_else(|| ColumnInfo::of_type(""));
                Column::new(name.clone(), info)
            })
            .collect();
        let shape = Arc::new(TableShape::new(
            key.owner.clone(),
            key.table.clone(),
            key.pk.clone(),
            columns,
        ));
        self.shapes.insert(key, Arc::clone(&shape));
        shape
    }

    fn db_name(&mut self, name: String) -> Arc<str> {
        Arc::clone(
            self.db_names
                .entry(name)
                .or_insert_with_key(|n| Arc::from(n.as_str())),
        )
    }

    fn position(&mut self, p: &Bound<'_, PyAny>) -> PyResult<SourcePosition> {
        Ok(SourcePosition {
            db_id: attr(p, "db_id")?,
            db_name: self.db_name(attr(p, "db_name")?),
            con_id: attr(p, "con_id")?,
            thread: attr(p, "thread")?,
            sequence: attr(p, "sequence")?,
            rba: RbaText::Text(attr::<String>(p, "rba")?.into_boxed_str()),
            scn: attr(p, "scn")?,
            sub_scn: attr(p, "sub_scn")?,
        })
    }

    fn change(&mut self, change: &Bound<'_, PyAny>) -> PyResult<RowChange<'static>> {
        let op: String = attr(change, "op")?;
        let op = Operation::from_name(&op)
            .ok_or_else(|| PyValueError::new_err(format!("not an operation: {op:?}")))?;
        let mut columns: Vec<(String, Option<ColumnInfo>)> = Vec::new();
        let mut index: HashMap<String, ColumnId> = HashMap::new();
        let listed = change.getattr("columns")?;
        let listed = listed.cast::<PyDict>()?;
        for (name, info) in listed.iter() {
            let name: String = name.extract()?;
            index.insert(name.clone(), columns.len() as ColumnId);
            columns.push((name, Some(column_info(&info)?)));
        }
        let listed_count = columns.len() as ColumnId;
        let mut images: [Option<Vec<(ColumnId, Value<'static>)>>; 2] = [None, None];
        for (slot, side) in images.iter_mut().zip(["before", "after"]) {
            let image = change.getattr(side)?;
            if image.is_none() {
                continue;
            }
            let mut entries = Vec::new();
            for (name, value) in image.cast::<PyDict>()?.iter() {
                let name: String = name.extract()?;
                let id = *index.entry(name.clone()).or_insert_with(|| {
                    columns.push((name, None));
                    (columns.len() - 1) as ColumnId
                });
                entries.push((id, value_of(&value)?));
            }
            *slot = Some(entries);
        }
        let key = ShapeKey {
            owner: attr(change, "owner")?,
            table: attr(change, "table")?,
            pk: attr(change, "pk")?,
            columns,
        };
        let shape = self.shape(key);
        let [before, after] = images.map(|image| {
            image.map(|entries| -> Image<'static> {
                entries
                    .into_iter()
                    .map(|(column, value)| Entry { column, value })
                    .collect()
            })
        });
        let position = change.getattr("position")?;
        Ok(RowChange {
            op,
            table: shape,
            obj: attr(change, "obj")?,
            before,
            after,
            columns: (0..listed_count).collect(),
            ddl: opt_text(change, "ddl")?,
            ddl_command: attr(change, "ddl_command")?,
            position: if position.is_none() {
                None
            } else {
                Some(self.position(&position)?)
            },
            row_id: opt_text(change, "row_id")?.map(RowId::Text),
            undecoded: opt_text(change, "undecoded")?,
        })
    }
}

#[pymethods]
impl PyWireBuilder {
    #[new]
    fn new() -> Self {
        PyWireBuilder {
            shapes: HashMap::new(),
            db_names: HashMap::new(),
        }
    }

    /// The transaction of `info` (a `TransactionInfo`) and `changes` (`RowChange`s).
    fn transaction(
        &mut self,
        info: &Bound<'_, PyAny>,
        changes: &Bound<'_, PyAny>,
    ) -> PyResult<PyWireTransaction> {
        let info = info_of(info)?;
        let mut out = Vec::new();
        for change in changes.try_iter()? {
            out.push(self.change(&change?)?);
        }
        Ok(PyWireTransaction {
            inner: Transaction { info, changes: out },
        })
    }

    /// Table shapes made so far.
    #[getter]
    fn shapes(&self) -> usize {
        self.shapes.len()
    }
}

/// A transaction built in the core, ready to serialise.
#[pyclass(name = "WireTransaction", module = "drcapture_core._core", frozen)]
pub(crate) struct PyWireTransaction {
    inner: Transaction<'static>,
}

pub(super) fn limits(max_value_bytes: usize, max_record_bytes: usize) -> RecordLimits {
    RecordLimits {
        max_value_bytes,
        max_record_bytes,
    }
}

pub(super) fn record_tuple<'py>(
    py: Python<'py>,
    record: &OutRecord<'_>,
) -> PyResult<Bound<'py, PyTuple>> {
    let headers = PyList::empty(py);
    for (key, value) in &record.headers {
        headers.append((*key, PyBytes::new(py, value)))?;
    }
    (
        record.schema,
        PyBytes::new(py, &record.value),
        headers,
        record.kind.as_str(),
    )
        .into_pyobject(py)
}

/// The headers every record shares, made once per interpreter: (name, value, tuple).
type SharedHeaders = Vec<(&'static str, Vec<u8>, Py<PyTuple>)>;
static SHARED_HEADERS: PyOnceLock<SharedHeaders> = PyOnceLock::new();

fn shared_headers(py: Python<'_>) -> PyResult<&SharedHeaders> {
    SHARED_HEADERS.get_or_try_init(py, || {
        let mut version = Vec::new();
        write_u64(&mut version, SCHEMA_VERSION);
        let values = [
            ("v", version),
            ("kind", RecordKind::Tx.as_str().as_bytes().to_vec()),
            ("kind", RecordKind::ValueChunk.as_str().as_bytes().to_vec()),
            ("start", b"1".to_vec()),
            ("start", b"0".to_vec()),
        ];
        values
            .into_iter()
            .map(|(name, value)| {
                let made = (name, PyBytes::new(py, &value)).into_pyobject(py)?;
                Ok((name, value, made.unbind()))
            })
            .collect()
    })
}

/// The schema and kind texts of the records made so far, made once per interpreter (a
/// record's schema is one of the database's, its kind one of two): each commit's
/// records would otherwise make them again. Bounded: past [`KNOWN_TEXTS_MAX`] a new
/// text is made and not kept.
static KNOWN_TEXTS: PyOnceLock<Mutex<HashMap<Box<str>, Py<PyString>>>> = PyOnceLock::new();
const KNOWN_TEXTS_MAX: usize = 4096;

fn known_text<'py>(py: Python<'py>, text: &str) -> Bound<'py, PyString> {
    let known = KNOWN_TEXTS.get_or_init(py, || Mutex::new(HashMap::new()));
    // Taken with the GIL held and never across a call into Python: no contention, no
    // deadlock; a poisoned lock (a panic while it was held) is used as it is.
    let mut known = known
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(made) = known.get(text) {
        return made.bind(py).clone();
    }
    let made = PyString::new(py, text);
    if known.len() < KNOWN_TEXTS_MAX {
        known.insert(text.into(), made.clone().unbind());
    }
    made
}

/// Makes record tuples as [`record_tuple`] does, with fewer Python objects: a header
/// `(name, value)` tuple is made once and shared by every record carrying the same
/// header (tuples and `bytes` are immutable), the schema and kind texts likewise. What
/// the GIL is held for per record is then one `bytes` of the value, one header list and
/// one tuple.
pub(super) struct RecordTuples<'py, 'r> {
    py: Python<'py>,
    shared: &'py SharedHeaders,
    headers: Vec<(&'static str, &'r [u8], Bound<'py, PyTuple>)>,
    texts: Vec<(&'r str, Bound<'py, PyString>)>,
}

impl<'py, 'r> RecordTuples<'py, 'r> {
    pub(super) fn new(py: Python<'py>) -> PyResult<Self> {
        Ok(RecordTuples {
            py,
            shared: shared_headers(py)?,
            headers: Vec::new(),
            texts: Vec::new(),
        })
    }

    fn header(&mut self, name: &'static str, value: &'r [u8]) -> PyResult<Bound<'py, PyTuple>> {
        let py = self.py;
        for (n, v, made) in self.shared {
            if *n == name && v.as_slice() == value {
                return Ok(made.bind(py).clone());
            }
        }
        for (n, v, made) in &self.headers {
            if *n == name && *v == value {
                return Ok(made.clone());
            }
        }
        let made = (name, PyBytes::new(py, value)).into_pyobject(py)?;
        self.headers.push((name, value, made.clone()));
        Ok(made)
    }

    fn text(&mut self, text: &'r str) -> Bound<'py, PyString> {
        for (t, made) in &self.texts {
            if *t == text {
                return made.clone();
            }
        }
        let made = known_text(self.py, text);
        self.texts.push((text, made.clone()));
        made
    }

    /// `(schema, value, headers, kind)`, equal to [`record_tuple`]'s.
    pub(super) fn tuple(
        &mut self,
        schema: &'r str,
        value: &[u8],
        headers: &'r [(&'static str, Vec<u8>)],
        kind: RecordKind,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let py = self.py;
        let mut items = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            items.push(self.header(name, value)?);
        }
        (
            self.text(schema),
            PyBytes::new(py, value),
            PyList::new(py, items)?,
            self.text(kind.as_str()),
        )
            .into_pyobject(py)
    }
}

#[pymethods]
impl PyWireTransaction {
    /// The Kafka key of every record (the xid's UTF-8 bytes).
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.info.xid.as_bytes())
    }

    /// Row changes held.
    #[getter]
    fn changes(&self) -> usize {
        self.inner.changes.len()
    }

    /// `(key, [(schema, value, headers, kind), …])`, the records in writing order.
    fn records<'py>(
        &self,
        py: Python<'py>,
        max_changes: usize,
        max_value_bytes: usize,
        max_record_bytes: usize,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
        let inner = &self.inner;
        let limits = limits(max_value_bytes, max_record_bytes);
        let found = py
            .detach(|| transaction_records(inner, max_changes, &limits))
            .py()?;
        let list = PyList::empty(py);
        for record in &found.records {
            list.append(record_tuple(py, record)?)?;
        }
        Ok((PyBytes::new(py, &found.key), list))
    }
}

/// Serialise every transaction without the GIL and without handing records to Python:
/// `(records, bytes)` written (the benchmark's core-only figure).
#[pyfunction]
fn wire_serialise(
    py: Python<'_>,
    transactions: Vec<Bound<'_, PyWireTransaction>>,
    max_changes: usize,
    max_value_bytes: usize,
    max_record_bytes: usize,
) -> PyResult<(u64, u64)> {
    let all: Vec<&Transaction<'static>> = transactions.iter().map(|t| &t.get().inner).collect();
    let limits = limits(max_value_bytes, max_record_bytes);
    py.detach(|| {
        let (mut records, mut bytes) = (0u64, 0u64);
        for tx in all {
            let found = transaction_records(tx, max_changes, &limits)?;
            records += found.records.len() as u64;
            bytes += found
                .records
                .iter()
                .map(|r| r.value.len() as u64)
                .sum::<u64>();
        }
        Ok((records, bytes))
    })
    .py()
}

/// `orjson.dumps(text)` as the serialiser writes it.
#[pyfunction]
fn wire_json_str<'py>(py: Python<'py>, text: &str) -> Bound<'py, PyBytes> {
    let mut out = Vec::new();
    write_str(&mut out, text);
    PyBytes::new(py, &out)
}

/// The ROWID text of `(data_obj, bdba, slot)` as the serialiser writes [`RowId::Parts`].
#[pyfunction]
fn wire_rowid(data_obj: u32, bdba: u32, slot: u16) -> String {
    RowId::text_of(data_obj, bdba, slot)
}

/// Add the serialiser's classes and functions to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWireBuilder>()?;
    m.add_class::<PyWireTransaction>()?;
    m.add_function(wrap_pyfunction!(wire_serialise, m)?)?;
    m.add_function(wrap_pyfunction!(wire_json_str, m)?)?;
    m.add_function(wrap_pyfunction!(wire_rowid, m)?)?;
    Ok(())
}
