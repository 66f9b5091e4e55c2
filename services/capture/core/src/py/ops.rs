//! The operation parsers' and the triage's binding, for the differential tests: each
//! Rust result becomes plain tuples (tagged by kind) that `drcapture.native_ops` turns
//! into the Python parsers' own objects. Not the production path: 2b keeps operations in
//! the core.

use std::collections::HashMap;

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::tuples::{Obj, leaf_op, leaf_undo, list, op};
use super::{IntoPyResult, endian_of};
use crate::binary::Endian;
use crate::error::Fact;
use crate::ops::compressed::{CompressedRow, Entry, Rest, image_values, parse_compressed_row};
use crate::ops::dispatch::{Op, OpCounters, RecordDecoder, RecordRef};
use crate::ops::iot::{parse_leaf_op, parse_leaf_undo};
use crate::ops::{IntMap, opcode};
use crate::records::{Rba, ReadState, RecordHeader, RecordWalker, parse_record};
use crate::txn::triage::{SkipMap, TxBoundary, quick_effects, triage_walk};
use crate::vectors::VectorSlot;
/// A record parsed the walk's way (its header, slots and lengths).
struct Parsed<'a> {
    data: &'a [u8],
    rba: Rba,
    header: RecordHeader,
    slots: Vec<VectorSlot>,
    lengths: Vec<u16>,
    endian: Endian,
    wide: bool,
}

impl<'a> Parsed<'a> {
    fn new(rba: (u32, u64, u64), data: &'a [u8], byte_order: &str, wide: bool) -> PyResult<Self> {
        let rba = Rba {
            sequence: rba.0,
            block: rba.1,
            offset: rba.2,
        };
        let endian = endian_of(byte_order)?;
        let (mut slots, mut lengths) = (Vec::new(), Vec::new());
        let header = parse_record(rba, data, endian, wide, &mut slots, &mut lengths).py()?;
        Ok(Parsed {
            data,
            rba,
            header,
            slots,
            lengths,
            endian,
            wide,
        })
    }

    fn record(&self) -> RecordRef<'_> {
        RecordRef {
            rba: self.rba,
            scn: self.header.scn,
            data: self.data,
            slots: &self.slots,
            lengths: &self.lengths,
            endian: self.endian,
            wide: self.wide,
        }
    }
}

/// What the dispatcher counted (`OpCounters`), kept in the core.
#[pyclass(name = "OpCounters", module = "drcapture_core._core")]
#[derive(Default)]
pub(crate) struct PyOpCounters {
    inner: OpCounters,
}

fn named<'py>(py: Python<'py>, counts: &IntMap<(u8, u8), u64>) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    for (&(layer, code), &n) in counts {
        out.set_item(opcode(layer, code), n)?;
    }
    Ok(out)
}

#[pymethods]
impl PyOpCounters {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// `(decoded, skipped, unknown)`, each `{"layer.code": count}`.
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let c = &self.inner;
        PyTuple::new(
            py,
            [
                named(py, &c.decoded)?,
                named(py, &c.skipped)?,
                named(py, &c.unknown)?,
            ],
        )
    }

    /// Count a record's vectors by opcode alone (`VectorTally.add`).
    fn tally(
        &mut self,
        rba: (u32, u64, u64),
        data: &[u8],
        byte_order: &str,
        wide: bool,
    ) -> PyResult<()> {
        let parsed = Parsed::new(rba, data, byte_order, wide)?;
        self.inner.tally(&parsed.slots);
        Ok(())
    }
}

/// Every vector of a record decoded: `[(tag, fields)]` (see `drcapture.native_ops`).
#[pyfunction]
#[pyo3(signature = (rba, data, byte_order, wide, counters = None))]
fn decode_record<'py>(
    py: Python<'py>,
    rba: (u32, u64, u64),
    data: &[u8],
    byte_order: &str,
    wide: bool,
    counters: Option<&Bound<'py, PyOpCounters>>,
) -> PyResult<Vec<Obj<'py>>> {
    let parsed = Parsed::new(rba, data, byte_order, wide)?;
    let mut decoder = RecordDecoder::new();
    let decoded = match counters {
        Some(c) => decoder.decode(&parsed.record(), Some(&mut c.borrow_mut().inner)),
        None => decoder.decode(&parsed.record(), None),
    };
    decoded.py()?.iter().map(|pv| op(py, &pv.op)).collect()
}

/// One vector (0-based `index`) through the IOT leaf parser (`parse_leaf_op`) or the
/// IOT undo parser (`parse_leaf_undo`).
#[pyfunction]
fn parse_leaf<'py>(
    py: Python<'py>,
    rba: (u32, u64, u64),
    data: &[u8],
    byte_order: &str,
    wide: bool,
    index: usize,
    undo: bool,
) -> PyResult<Obj<'py>> {
    let parsed = Parsed::new(rba, data, byte_order, wide)?;
    let rec = parsed.record();
    let mut decoder = RecordDecoder::new();
    decoder.prepare(&rec);
    let cv = decoder.vector(&rec, index).py()?;
    if undo {
        leaf_undo(py, &parse_leaf_undo(&cv).py()?)
    } else {
        leaf_op(py, &parse_leaf_op(&cv).py()?)
    }
}

type EntryTuple = (Option<Vec<u8>>, Option<u8>);
type ListedTuple = (u16, Option<Vec<u8>>);

/// `compressed.image_values`: `(values, rest_not_logged)`; `facts` go into a refusal.
#[pyfunction(name = "image_values")]
fn py_image_values(
    fb: u8,
    lb: u8,
    entries: Vec<EntryTuple>,
    supp: Vec<ListedTuple>,
    facts: Vec<(String, Bound<'_, PyAny>)>,
) -> PyResult<(Vec<ListedTuple>, bool)> {
    let row = CompressedRow {
        fb,
        lb,
        entries: entries
            .iter()
            .map(|(value, symbol)| Entry {
                value: value.as_deref(),
                symbol: *symbol,
            })
            .collect(),
    };
    let supp: Vec<(u16, Option<&[u8]>)> = supp.iter().map(|(n, v)| (*n, v.as_deref())).collect();
    let at: Vec<(&'static str, Fact)> = facts
        .into_iter()
        .map(|(k, v)| (static_key(&k), fact_of(&v)))
        .collect();
    let (values, rest) = image_values(&row, &supp, &at).py()?;
    let values = values
        .iter()
        .map(|(n, v)| (*n, v.map(<[u8]>::to_vec)))
        .collect();
    Ok((values, rest == Rest::NotLogged))
}

/// `compressed.parse_compressed_row`: `(fb, lb, [(value, symbol)])`; `facts` go into a
/// refusal.
#[pyfunction]
fn compressed_row<'py>(
    py: Python<'py>,
    data: &[u8],
    facts: Vec<(String, Bound<'_, PyAny>)>,
) -> PyResult<Obj<'py>> {
    let at: Vec<(&'static str, Fact)> = facts
        .into_iter()
        .map(|(k, v)| (static_key(&k), fact_of(&v)))
        .collect();
    let row = parse_compressed_row(data, &at).py()?;
    let entries: Vec<(Option<&[u8]>, Option<u8>)> =
        row.entries.iter().map(|e| (e.value, e.symbol)).collect();
    (row.fb, row.lb, entries).into_bound_py_any(py)
}

/// The fact keys the tests pass (facts are keyed by `&'static str` in the core).
fn static_key(key: &str) -> &'static str {
    const KEYS: [&str; 6] = ["opcode", "rba", "obj", "xid", "field", "table"];
    KEYS.into_iter().find(|k| *k == key).unwrap_or("fact")
}

fn fact_of(value: &Bound<'_, PyAny>) -> Fact {
    match value.extract::<i64>() {
        Ok(n) => Fact::Int(i128::from(n)),
        Err(_) => Fact::Text(value.str().map(|s| s.to_string()).unwrap_or_default()),
    }
}

/// `triage.quick_effects` with a precomputed skip map: None, or
/// `(dropped, ends, rollbacks)` with ends as `("begin" | "end", fields)`.
#[pyfunction(name = "quick_effects")]
#[pyo3(signature = (rba, data, byte_order, wide, reasons, default = None))]
fn py_quick_effects<'py>(
    py: Python<'py>,
    rba: (u32, u64, u64),
    data: &[u8],
    byte_order: &str,
    wide: bool,
    reasons: HashMap<u32, Option<String>>,
    default: Option<String>,
) -> PyResult<Option<Obj<'py>>> {
    let parsed = Parsed::new(rba, data, byte_order, wide)?;
    let skip = skip_map(reasons, default);
    let Some(effects) = quick_effects(&parsed.record(), &skip) else {
        return Ok(None);
    };
    let ends = list(py, &effects.ends, |end| {
        Ok(match end {
            TxBoundary::Begin(b) => op(py, &Op::Begin(*b))?,
            TxBoundary::End(e) => op(py, &Op::End(*e))?,
        })
    })?;
    Ok(Some(
        (effects.dropped.clone(), ends, effects.rollbacks.clone()).into_bound_py_any(py)?,
    ))
}

type TriageTuple = (u64, u64, u64, u64, u64, u64, u64, u64);

/// A whole log walked, tallied and triaged in the core without the GIL (`triage_walk`):
/// `(records, bytes, quick, full, dropped, ends, rollbacks, decoded)`.
#[pyfunction]
#[pyo3(signature = (file, reasons, default, decode, counters = None))]
fn triage_file(
    py: Python<'_>,
    file: &super::PyRedoFile,
    reasons: HashMap<u32, Option<String>>,
    default: Option<String>,
    decode: bool,
    counters: Option<&Bound<'_, PyOpCounters>>,
) -> PyResult<TriageTuple> {
    let skip = skip_map(reasons, default);
    let mut walker = RecordWalker::new(std::sync::Arc::clone(&file.inner), ReadState::default());
    let mut tally = OpCounters::default();
    let t = py
        .detach(|| triage_walk(&mut walker, &skip, decode, &mut tally))
        .py()?;
    if let Some(c) = counters {
        c.borrow_mut().inner = tally;
    }
    Ok((
        t.records,
        t.bytes,
        t.quick,
        t.full,
        t.dropped,
        t.ends,
        t.rollbacks,
        t.decoded,
    ))
}

fn skip_map(reasons: HashMap<u32, Option<String>>, default: Option<String>) -> SkipMap {
    SkipMap {
        reasons: reasons
            .into_iter()
            .map(|(k, v)| (k, v.map(String::into_boxed_str)))
            .collect(),
        default: default.map(String::into_boxed_str),
        keep_above: 0,
    }
}

/// Add the operation functions and classes to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOpCounters>()?;
    m.add_function(wrap_pyfunction!(decode_record, m)?)?;
    m.add_function(wrap_pyfunction!(parse_leaf, m)?)?;
    m.add_function(wrap_pyfunction!(py_image_values, m)?)?;
    m.add_function(wrap_pyfunction!(compressed_row, m)?)?;
    m.add_function(wrap_pyfunction!(py_quick_effects, m)?)?;
    m.add_function(wrap_pyfunction!(triage_file, m)?)?;
    Ok(())
}
