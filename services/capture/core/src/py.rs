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

use crate::binary::{Endian, redo_time};
use crate::blocks::{
    BlockCheck, BlockStatus, BytesSource, FileSource, RedoFile, check_block, parse_file_header,
    parse_redo_header,
};
use crate::checksum;
use crate::error::{Error, ErrorKind, Fact};
use crate::records::{Rba, ReadState, RecordHeader, RecordWalker, parse_record, scan};
use crate::values::datetimes::TimeZones;
use crate::values::text::{CHARSETS, Charset};
use crate::values::timezones::REGIONS;
use crate::values::{binary, datetimes, ieee, intervals, number, rowid, text};
use crate::vectors::{VectorSlot, parse_vector_header, scan_vectors};

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

fn to_py_err(err: Error) -> PyErr {
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

trait IntoPyResult<T> {
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

fn status_of(value: &str) -> PyResult<BlockStatus> {
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
    inner: Arc<RedoFile>,
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
struct PyTimeZones {
    inner: TimeZones,
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

// --- block and record layer, one call each (tests and tools) ----------------------

#[pyfunction]
fn fold(block: &[u8]) -> u16 {
    checksum::fold(block)
}

#[pyfunction]
#[pyo3(signature = (block, number, byte_order, file, block_size, sequence, online, verify_checksum))]
#[allow(clippy::too_many_arguments)]
fn check_block_status(
    block: &[u8],
    number: u64,
    byte_order: &str,
    file: &str,
    block_size: u32,
    sequence: Option<u32>,
    online: bool,
    verify_checksum: bool,
) -> PyResult<&'static str> {
    let check = BlockCheck {
        file,
        block_size,
        sequence,
        online,
        verify_checksum,
    };
    Ok(check_block(block, number, endian_of(byte_order)?, &check)
        .py()?
        .value())
}

#[pyfunction(name = "parse_file_header")]
fn py_parse_file_header(block0: &[u8], file: &str) -> PyResult<(u32, u32, &'static str)> {
    let h = parse_file_header(block0, file).py()?;
    Ok((h.block_size, h.block_count, h.endian.symbol()))
}

#[pyfunction(name = "parse_redo_header")]
fn py_parse_redo_header<'py>(
    py: Python<'py>,
    block1: &[u8],
    byte_order: &str,
) -> PyResult<Bound<'py, PyTuple>> {
    let h = parse_redo_header(block1, endian_of(byte_order)?).py()?;
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

#[pyfunction(name = "parse_record")]
fn py_parse_record<'py>(
    py: Python<'py>,
    sequence: u32,
    block: u64,
    offset: u64,
    data: &[u8],
    byte_order: &str,
    wide: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let rba = Rba {
        sequence,
        block,
        offset,
    };
    let (mut slots, mut lengths) = (Vec::new(), Vec::new());
    let header = parse_record(
        rba,
        data,
        endian_of(byte_order)?,
        wide,
        &mut slots,
        &mut lengths,
    )
    .py()?;
    record_tuple(py, rba, &header, data, &slots, &lengths)
}

#[pyfunction(name = "scan_vectors")]
fn py_scan_vectors(
    data: &[u8],
    start: usize,
    end: usize,
    byte_order: &str,
    wide: bool,
) -> PyResult<Vec<SlotTuple>> {
    let (mut slots, mut lengths) = (Vec::new(), Vec::new());
    scan_vectors(
        data,
        start,
        end,
        endian_of(byte_order)?,
        wide,
        &mut slots,
        &mut lengths,
    )
    .py()?;
    Ok(slot_tuples(&slots, &lengths))
}

type VectorHeaderTuple = (
    u8,
    u8,
    u16,
    u16,
    u32,
    u64,
    u8,
    u8,
    u32,
    Option<u16>,
    Option<u16>,
);

#[pyfunction(name = "parse_vector_header")]
fn py_parse_vector_header(
    data: &[u8],
    offset: usize,
    byte_order: &str,
    wide: bool,
) -> PyResult<VectorHeaderTuple> {
    let h = parse_vector_header(data, offset, endian_of(byte_order)?, wide).py()?;
    Ok((
        h.layer, h.code, h.cls, h.afn, h.dba, h.scn, h.seq, h.typ, h.data_obj, h.con_id, h.flags,
    ))
}

#[pyfunction(name = "redo_time")]
fn py_redo_time(encoded: u32) -> PyResult<Option<TimeTuple>> {
    Ok(redo_time(encoded)
        .py()?
        .map(|t| (t.year, t.month, t.day, t.hour, t.minute, t.second)))
}

#[pyfunction]
fn read_scn(buf: &[u8], offset: usize, byte_order: &str) -> PyResult<u64> {
    endian_of(byte_order)?.scn(buf, offset).py()
}

#[pyfunction]
fn read_record_scn(buf: &[u8], offset: usize, byte_order: &str) -> PyResult<u64> {
    endian_of(byte_order)?.record_scn(buf, offset).py()
}

#[pyfunction]
fn read_uba(buf: &[u8], offset: usize, byte_order: &str) -> PyResult<(u32, u16, u8)> {
    endian_of(byte_order)?.uba(buf, offset).py()
}

// --- values -----------------------------------------------------------------------

fn text_of(f: impl FnOnce(&mut String) -> crate::error::Result<()>) -> PyResult<String> {
    let mut out = String::new();
    f(&mut out).py()?;
    Ok(out)
}

#[pyfunction]
fn decode_number(raw: &[u8]) -> PyResult<String> {
    text_of(|o| number::decode_number(raw, o))
}

#[pyfunction]
fn decode_binary_float(raw: &[u8]) -> PyResult<String> {
    text_of(|o| ieee::decode_binary_float(raw, o))
}

#[pyfunction]
fn decode_binary_double(raw: &[u8]) -> PyResult<String> {
    text_of(|o| ieee::decode_binary_double(raw, o))
}

#[pyfunction]
fn decode_date(raw: &[u8]) -> PyResult<String> {
    text_of(|o| datetimes::decode_date(raw, o))
}

#[pyfunction]
#[pyo3(signature = (raw, scale))]
fn decode_timestamp(raw: &[u8], scale: Option<i64>) -> PyResult<String> {
    text_of(|o| datetimes::decode_timestamp(raw, scale, o))
}

#[pyfunction]
#[pyo3(signature = (raw, scale, zones))]
fn decode_timestamp_tz(raw: &[u8], scale: Option<i64>, zones: &PyTimeZones) -> PyResult<String> {
    text_of(|o| datetimes::decode_timestamp_tz(raw, scale, &zones.inner, o))
}

#[pyfunction]
fn decode_interval_ym(raw: &[u8]) -> PyResult<String> {
    text_of(|o| intervals::decode_interval_ym(raw, o))
}

#[pyfunction]
#[pyo3(signature = (raw, scale))]
fn decode_interval_ds(raw: &[u8], scale: Option<i64>) -> PyResult<String> {
    text_of(|o| intervals::decode_interval_ds(raw, scale, o))
}

#[pyfunction]
fn decode_raw(raw: &[u8]) -> String {
    let mut out = String::new();
    binary::decode_raw(raw, &mut out);
    out
}

#[pyfunction]
fn decode_boolean(raw: &[u8]) -> PyResult<String> {
    text_of(|o| binary::decode_boolean(raw, o))
}

#[pyfunction]
fn decode_rowid(raw: &[u8]) -> PyResult<String> {
    text_of(|o| rowid::decode_rowid(raw, o))
}

/// The text of `raw` in the set named `charset` (exact upper-case name), `None` when
/// the bytes are not valid in it; `ValueError` for a name the core does not know.
#[pyfunction]
fn decode_text(raw: &[u8], charset: &str) -> PyResult<Option<String>> {
    let cs = Charset::by_name(charset)
        .ok_or_else(|| PyValueError::new_err(format!("unknown charset {charset:?}")))?;
    let mut out = String::new();
    Ok(text::decode_text(raw, cs, &mut out).then_some(out))
}

#[pyfunction]
fn charset_names() -> Vec<&'static str> {
    CHARSETS.iter().map(|(_, n)| *n).collect()
}

#[pyfunction]
fn timezone_regions() -> Vec<(u16, &'static str)> {
    REGIONS.to_vec()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("CoreError", py.get_type::<CoreError>())?;
    m.add_class::<PyRedoFile>()?;
    m.add_class::<PyRecordWalk>()?;
    m.add_class::<PyTimeZones>()?;
    m.add_function(wrap_pyfunction!(fold, m)?)?;
    m.add_function(wrap_pyfunction!(check_block_status, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_file_header, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_redo_header, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_record, m)?)?;
    m.add_function(wrap_pyfunction!(py_scan_vectors, m)?)?;
    m.add_function(wrap_pyfunction!(py_parse_vector_header, m)?)?;
    m.add_function(wrap_pyfunction!(py_redo_time, m)?)?;
    m.add_function(wrap_pyfunction!(read_scn, m)?)?;
    m.add_function(wrap_pyfunction!(read_record_scn, m)?)?;
    m.add_function(wrap_pyfunction!(read_uba, m)?)?;
    m.add_function(wrap_pyfunction!(decode_number, m)?)?;
    m.add_function(wrap_pyfunction!(decode_binary_float, m)?)?;
    m.add_function(wrap_pyfunction!(decode_binary_double, m)?)?;
    m.add_function(wrap_pyfunction!(decode_date, m)?)?;
    m.add_function(wrap_pyfunction!(decode_timestamp, m)?)?;
    m.add_function(wrap_pyfunction!(decode_timestamp_tz, m)?)?;
    m.add_function(wrap_pyfunction!(decode_interval_ym, m)?)?;
    m.add_function(wrap_pyfunction!(decode_interval_ds, m)?)?;
    m.add_function(wrap_pyfunction!(decode_raw, m)?)?;
    m.add_function(wrap_pyfunction!(decode_boolean, m)?)?;
    m.add_function(wrap_pyfunction!(decode_rowid, m)?)?;
    m.add_function(wrap_pyfunction!(decode_text, m)?)?;
    m.add_function(wrap_pyfunction!(charset_names, m)?)?;
    m.add_function(wrap_pyfunction!(timezone_regions, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
