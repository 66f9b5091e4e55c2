//! The block, record and vector functions' binding, one call each (the differential
//! tests and tools use them; the walk itself is [`super::PyRedoFile`]).

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::{IntoPyResult, SlotTuple, TimeTuple, endian_of, record_tuple, slot_tuples};
use crate::binary::redo_time;
use crate::blocks::{BlockCheck, check_block, parse_file_header, parse_redo_header};
use crate::checksum;
use crate::records::{Rba, parse_record};
use crate::vectors::{parse_vector_header, scan_vectors};

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

/// Add the block, record and vector functions to the module.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
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
    Ok(())
}
