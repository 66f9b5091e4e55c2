//! The PyO3 binding (`drcapture_core._core`): thin wrappers that convert arguments,
//! release the GIL for whole-file work, and turn [`Error`]s into `CoreError(kind,
//! message, facts)`, which `drcapture.native` re-raises as the project's own `DRError`
//! subclasses. Operating-system errors become `OSError(errno, message)`.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::binary::Endian;
use crate::blocks::{BlockStatus, BytesSource, FileSource, RedoFile};
use crate::error::{Error, ErrorKind, Fact};
use crate::records::{Rba, ReadState, RecordHeader, RecordWalker, scan};
use crate::values::datetimes::TimeZones;
use crate::vectors::VectorSlot;

mod txn;
mod values;
mod wire;

create_exception!(
    _core,
    CoreError,
    PyException,
    "An error of the core: args are (kind, message, facts); drcapture.native re-raises it."
);

fn fact_to_py(py: Python<'_>, fact: &Fact) -> PyResult<Py<PyAny>> {
    Ok(match fact {
        Fact::Int(v) => v.into_pyobject(py)?.into_any().unbind(),
        Fact::Text(v) => v.into_pyobject(py)?.into_any().unbind(),
        Fact::Ints(v) => PyTuple::new(py, v)?.into_any().unbind(),
        Fact::Rba(r) => (r.sequence, r.block, r.offset)
            .into_pyobject(py)?
            .into_any()
            .unbind(),
    })
}

pub(super) fn to_py_err(err: Error) -> PyErr {
    Python::attach(|py| {
        if err.kind() == ErrorKind::Io {
            let errno = err.facts().iter().find_map(|(k, v)| match (k, v) {
                (&"errno", Fact::Int(n)) => i32::try_from(*n).ok(),
                _ => None,
            });
            return match errno {
                Some(n) => PyOSError::new_err((n, err.message().to_owned())),
                None => PyOSError::new_err(err.message().to_owned()),
            };
        }
        let facts: PyResult<Vec<(&str, Py<PyAny>)>> = err
            .facts()
            .iter()
            .map(|(k, v)| Ok((*k, fact_to_py(py, v)?)))
            .collect();
        match facts {
            Ok(facts) => CoreError::new_err((err.kind().name(), err.message().to_owned(), facts)),
            Err(e) => e,
        }
    })
}

pub(crate) trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for crate::error::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

fn endian_of(order: &str) -> PyResult<Endian> {
    match order {
        "<" => Ok(Endian::Little),
        ">" => Ok(Endian::Big),
        _ => Err(PyValueError::new_err(format!(
            "byte order must be '<' or '>', not {order:?}"
        ))),
    }
}

pub(super) fn status_of(value: &str) -> PyResult<BlockStatus> {
    BlockStatus::from_value(value)
        .ok_or_else(|| PyValueError::new_err(format!("not a block status: {value:?}")))
}

type StateTuple = (u64, u64, &'static str);
type TimeTuple = (u16, u8, u8, u8, u8, u8);
type SlotTuple = (u32, u8, u8, u16, u8, u32, Vec<u16>, u32);

fn slot_tuples(slots: &[VectorSlot], lengths: &[u16]) -> Vec<SlotTuple> {
    slots
        .iter()
        .map(|s| {
            (
                s.offset,
                s.layer,
                s.code,
                s.cls,
                s.typ,
                s.fields_at,
                s.lengths(lengths).to_vec(),
                s.end,
            )
        })
        .collect()
}

type HeaderTuple = (u32, u8, u64, u16, Option<u32>, Option<u32>, u8);

fn header_tuple(h: &RecordHeader) -> HeaderTuple {
    (
        h.length,
        h.vld,
        h.scn,
        h.sub_scn,
        h.con_uid,
        h.timestamp,
        h.header_size,
    )
}

fn record_tuple<'py>(
    py: Python<'py>,
    rba: Rba,
    header: &RecordHeader,
    data: &[u8],
    slots: &[VectorSlot],
    lengths: &[u16],
) -> PyResult<Bound<'py, PyTuple>> {
    let slots = PyTuple::new(py, slot_tuples(slots, lengths))?;
    (
        rba.block,
        rba.offset,
        header_tuple(header),
        PyBytes::new(py, data),
        slots,
    )
        .into_pyobject(py)
}

/// An opened redo log (block 0 and block 1 checked).
#[pyclass(name = "RedoFile", module = "drcapture_core._core", frozen)]
struct PyRedoFile {
    pub(super) inner: Arc<RedoFile>,
}

#[pymethods]
impl PyRedoFile {
    /// Open the log at `path`; errors name it `name`.
    #[staticmethod]
    #[pyo3(signature = (path, name, online = false, verify_checksum = true))]
    fn open_path(
        py: Python<'_>,
        path: PathBuf,
        name: String,
        online: bool,
        verify_checksum: bool,
    ) -> PyResult<Self> {
        let file = py
            .detach(|| {
                RedoFile::open(
                    Box::new(FileSource::new(path, name)),
                    online,
                    verify_checksum,
                )
            })
            .py()?;
        Ok(PyRedoFile {
            inner: Arc::new(file),
        })
    }

    /// Open a log held in memory; errors name it `label`.
    #[staticmethod]
    #[pyo3(signature = (data, label, online = false, verify_checksum = true))]
    fn from_bytes(
        data: &[u8],
        label: String,
        online: bool,
        verify_checksum: bool,
    ) -> PyResult<Self> {
        let source = BytesSource::new(Arc::from(data), label);
        let file = RedoFile::open(Box::new(source), online, verify_checksum).py()?;
        Ok(PyRedoFile {
            inner: Arc::new(file),
        })
    }

    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    #[getter]
    fn block_size(&self) -> u32 {
        self.inner.block_size()
    }

    #[getter]
    fn block_count(&self) -> u32 {
        self.inner.file_header.block_count
    }

    #[getter]
    fn byte_order(&self) -> &'static str {
        self.inner.endian().symbol()
    }

    #[getter]
    fn last_block(&self) -> u64 {
        self.inner.last_block()
    }

    #[getter]
    fn online(&self) -> bool {
        self.inner.online
    }

    /// The redo header's fields in `RedoHeader` order (times as raw redo times).
    #[allow(clippy::type_complexity)]
    fn header<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let h = &self.inner.header;
        let first = (
            h.compat_vsn,
            h.db_id,
            h.db_name.as_str(),
            h.control_seq,
            h.file_size_blocks,
            h.file_number,
        );
        let second = (
            h.activation_id,
            h.description.as_str(),
            h.nab,
            h.resetlogs_id,
            h.resetlogs_scn,
            h.thread,
        );
        let third = (
            h.sequence,
            h.first_scn,
            h.first_time,
            h.next_scn,
            h.next_time,
            h.prev_resetlogs_id,
        );
        (first, second, third, h.prev_resetlogs_scn).into_pyobject(py)
    }

    /// A record walk from the given state.
    fn walk(&self, next_block: u64, resume_offset: u64, stopped: &str) -> PyResult<PyRecordWalk> {
        let state = ReadState {
            next_block,
            resume_offset,
            stopped: status_of(stopped)?,
        };
        Ok(PyRecordWalk {
            walker: RecordWalker::new(Arc::clone(&self.inner), state),
        })
    }

    /// Walk from the given state to the end without the GIL: (records, bytes, vectors,
    /// (next_block, resume_offset, stopped)).
    fn scan(
        &self,
        py: Python<'_>,
        next_block: u64,
        resume_offset: u64,
        stopped: &str,
    ) -> PyResult<(u64, u64, u64, StateTuple)> {
        let state = ReadState {
            next_block,
            resume_offset,
            stopped: status_of(stopped)?,
        };
        let file = Arc::clone(&self.inner);
        let (totals, state) = py.detach(move || {
            let mut walker = RecordWalker::new(file, state);
            let totals = scan(&mut walker);
            (totals, walker.state())
        });
        let t = totals.py()?;
        Ok((
            t.records,
            t.bytes,
            t.vectors,
            (state.next_block, state.resume_offset, state.stopped.value()),
        ))
    }
}

/// A record walk: iterate for `(block, offset, header, data, slots)`; `state` moves as
/// the Python generator's does.
#[pyclass(name = "RecordWalk", module = "drcapture_core._core")]
struct PyRecordWalk {
    walker: RecordWalker,
}

#[pymethods]
impl PyRecordWalk {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        match self.walker.next_record().py()? {
            Some(r) => Ok(Some(record_tuple(
                py, r.rba, &r.header, r.data, r.slots, r.lengths,
            )?)),
            None => Ok(None),
        }
    }

    /// `(next_block, resume_offset, stopped)`.
    #[getter]
    fn state(&self) -> StateTuple {
        let s = self.walker.state();
        (s.next_block, s.resume_offset, s.stopped.value())
    }
}

/// Rules of the time-zone regions, from their TZif files' bytes.
#[pyclass(name = "TimeZones", module = "drcapture_core._core", frozen)]
pub(crate) struct PyTimeZones {
    pub(crate) inner: TimeZones,
}

#[pymethods]
impl PyTimeZones {
    #[new]
    fn new(files: Vec<(String, Vec<u8>)>) -> Self {
        PyTimeZones {
            inner: TimeZones::from_tzif(&files),
        }
    }

    /// Whether `region` has rules.
    fn knows(&self, region: &str) -> bool {
        self.inner.knows(region)
    }
}

mod layers;
mod ops;
mod tuples;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CoreError", py.get_type::<CoreError>())?;
    m.add_class::<PyRedoFile>()?;
    m.add_class::<PyRecordWalk>()?;
    m.add_class::<PyTimeZones>()?;
    layers::register(m)?;
    ops::register(m)?;
    values::register(m)?;
    wire::register(m)?;
    txn::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
