//! The value decoders' binding: one function per decoder, text or `CoreError`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::{IntoPyResult, PyTimeZones};
use crate::values::text::{CHARSETS, Charset};
use crate::values::timezones::REGIONS;
use crate::values::{binary, datetimes, ieee, intervals, number, rowid, text};

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

/// Add the value functions to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
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
    Ok(())
}
