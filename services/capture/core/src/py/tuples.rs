//! The operations' conversion into plain Python tuples, tagged by kind (the shapes
//! `drcapture.native_ops` reads: each the fields of the Python class, in order).

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::ops::Xid;
use crate::ops::compressed::{CompressedRow, Entry};
use crate::ops::dispatch::Op;
use crate::ops::iot::{LeafOp, LeafUndo, NonKey};
use crate::ops::kdo::{Column, KtbRedo, RowImage, RowOp};
use crate::ops::undo::{Ktub, Supplemental};

pub(super) type Obj<'py> = Bound<'py, PyAny>;

/// A Python tuple of the given values, each converted.
macro_rules! tuple {
    ($py:expr; $($x:expr),* $(,)?) => {
        PyTuple::new($py, [$( $x.into_bound_py_any($py)? ),*])?.into_any()
    };
}

fn xid<'py>(py: Python<'py>, x: Option<Xid>) -> PyResult<Obj<'py>> {
    match x {
        Some(x) => Ok(tuple!(py; x.usn, x.slot, x.sqn)),
        None => Ok(py.None().into_bound(py)),
    }
}

pub(super) fn list<'py, T>(
    py: Python<'py>,
    items: &[T],
    f: impl Fn(&T) -> PyResult<Obj<'py>>,
) -> PyResult<Obj<'py>> {
    let items: PyResult<Vec<Obj<'py>>> = items.iter().map(f).collect();
    Ok(PyList::new(py, items?)?.into_any())
}

fn columns<'py>(py: Python<'py>, cols: &[Column<'_>]) -> PyResult<Obj<'py>> {
    list(py, cols, |c| Ok(tuple!(py; c.index, c.value)))
}

fn rows<'py>(py: Python<'py>, rows: &[RowImage<'_>]) -> PyResult<Obj<'py>> {
    list(py, rows, |r| {
        Ok(tuple!(py; r.slot, r.fb, columns(py, &r.columns)?))
    })
}

fn packed<'py>(py: Python<'py>, row: &CompressedRow<'_>) -> PyResult<Obj<'py>> {
    let entries = list(py, &row.entries, |e: &Entry<'_>| {
        Ok(tuple!(py; e.value, e.symbol))
    })?;
    Ok(tuple!(py; row.fb, row.lb, entries))
}

fn ktb<'py>(py: Python<'py>, k: Option<KtbRedo>) -> PyResult<Obj<'py>> {
    match k {
        Some(k) => Ok(tuple!(py; k.op, k.flags, xid(py, k.xid)?)),
        None => Ok(py.None().into_bound(py)),
    }
}

fn row_op<'py>(py: Python<'py>, op: &RowOp<'_>) -> PyResult<Obj<'py>> {
    let packed = match &op.packed {
        Some(row) => packed(py, row)?,
        None => py.None().into_bound(py),
    };
    let head = tuple!(py; op.code, op.bdba, op.slot, op.fb, op.flags, op.tabn, op.cc);
    let body = tuple!(py; columns(py, &op.columns)?, rows(py, &op.rows)?, op.nrid, op.hrid,
                      packed, op.next_field, ktb(py, op.ktb)?);
    Ok(tuple!(py; head, body))
}

fn ktub<'py>(py: Python<'py>, k: &Ktub) -> PyResult<Obj<'py>> {
    Ok(tuple!(py; k.obj, k.data_obj, k.opc, k.slot, k.flags))
}

fn supplemental<'py>(py: Python<'py>, s: Option<&Supplemental<'_>>) -> PyResult<Obj<'py>> {
    let Some(s) = s else {
        return Ok(py.None().into_bound(py));
    };
    let cols = list(py, &s.columns, |(n, v)| Ok(tuple!(py; *n, *v)))?;
    Ok(tuple!(py; s.op_type, s.fb, s.column_count, s.start_undo, s.start_redo, s.row, cols))
}

pub(super) fn op<'py>(py: Python<'py>, op: &Op<'_>) -> PyResult<Obj<'py>> {
    Ok(match op {
        Op::Undo(u) => {
            let row = match &u.row_op {
                Some(r) => row_op(py, r)?,
                None => py.None().into_bound(py),
            };
            tuple!(py; "undo", tuple!(py; xid(py, Some(u.xid))?, ktub(py, &u.ktub)?, row,
                   supplemental(py, u.supplemental.as_ref())?, u.undo_rec, u.row_error.as_deref()))
        }
        Op::Begin(b) => tuple!(py; "begin", tuple!(py; xid(py, Some(b.xid))?, b.flags, b.con_uid)),
        Op::End(e) => {
            tuple!(py; "end", tuple!(py; xid(py, Some(e.xid))?, e.flags, e.scn, e.unix_time))
        }
        Op::PartialRollback(r) => {
            tuple!(py; "rollback", tuple!(py; r.code, xid(py, Some(r.xid))?, ktub(py, &r.ktub)?))
        }
        Op::Row(r) => tuple!(py; "row", row_op(py, r)?),
        Op::Lob(l) => {
            tuple!(py; "lob", tuple!(py; l.kind, xid(py, l.xid)?, l.obj, l.columns.clone(),
                             l.op, l.lid, l.length, l.page_size))
        }
        Op::Direct(d) => {
            tuple!(py; "direct", tuple!(py; d.data_obj, d.bdba, rows(py, &d.rows)?, d.table_block))
        }
        Op::Ddl(d) => {
            tuple!(py; "ddl", tuple!(py; xid(py, Some(d.xid))?, d.kind, d.obj, d.sql.as_str(),
                                     d.command))
        }
        Op::LobPage(p) => {
            tuple!(py; "page", tuple!(py; p.dba, p.lid, xid(py, Some(p.xid))?, p.data_obj,
                                 p.obj, p.column, p.page_size, p.data))
        }
        Op::LobBlockChange(c) => {
            tuple!(py; "change", tuple!(py; c.code, c.kdli_op, c.dba, xid(py, c.xid)?,
                                        c.lid, c.obj, c.column))
        }
        Op::Unknown { layer, code } => tuple!(py; "unknown", (*layer, *code)),
        Op::Skipped {
            layer,
            code,
            reason,
        } => tuple!(py; "skipped", (*layer, *code, *reason)),
        Op::Undecodable {
            layer,
            code,
            reason,
        } => {
            tuple!(py; "undecodable", (*layer, *code, reason.as_str()))
        }
    })
}

fn nonkey<'py>(py: Python<'py>, n: Option<&NonKey<'_>>) -> PyResult<Obj<'py>> {
    let Some(n) = n else {
        return Ok(py.None().into_bound(py));
    };
    Ok(tuple!(py; n.fb, n.columns.clone(), n.nrid))
}

pub(super) fn leaf_op<'py>(py: Python<'py>, l: &LeafOp<'_>) -> PyResult<Obj<'py>> {
    Ok(
        tuple!(py; l.code, l.bdba, l.slot, l.key.clone(), nonkey(py, l.nonkey.as_ref())?,
              l.changed.clone(), l.ncol),
    )
}

pub(super) fn leaf_undo<'py>(py: Python<'py>, u: &LeafUndo<'_>) -> PyResult<Obj<'py>> {
    Ok(
        tuple!(py; u.kind, u.flags, u.bdba, u.key.clone(), nonkey(py, u.nonkey.as_ref())?,
              u.changed.clone(), u.ncol, supplemental(py, u.supplemental.as_ref())?),
    )
}
