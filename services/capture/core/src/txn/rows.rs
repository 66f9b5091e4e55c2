//! Row assembly (`redo/txn/rows.py`): a committed transaction's pieces, in redo order,
//! become logical row changes. Pieces between a supplemental "first" and the matching
//! "last" flag are one row change; without supplemental data each piece stands alone
//! (or continues the open change on the same object) and the op follows from its 11.x
//! code. Multi-row ops give one change per row. The row is the head piece's, else the
//! supplemental row address, else the first piece's block and slot.
//!
//! [`Grouper`] is fed one piece at a time and hands back the rows each piece closes, at
//! the points where the Python generator yields them (the caller decodes each row before
//! the next piece, as the Python consumer does).

use std::borrow::Cow;
use std::sync::Arc;

use super::piece::{Col, Fragment, Piece, PieceKind, Raw};
use crate::error::{Error, Result};
use crate::ops::iot::leaf;
use crate::ops::kdo::{FB_HEAD, FB_LAST, FB_NEXT, code};
use crate::records::Rba;
use crate::wire::model::Operation;

/// A column's value once assembled (`common.Value`), borrowed from the pieces of its
/// row change (a column joined from parts is owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val<'g> {
    Null,
    Bytes(Cow<'g, [u8]>),
    NotInRedo(&'g Arc<str>),
}

/// An image: columns in insertion order (Python's dict), unique numbers.
pub type Image<'g> = Vec<(Col, Val<'g>)>;

/// One row change (or DDL) before names and values are decoded (`LogicalRow`); it
/// borrows the pieces it was made of.
#[derive(Debug, Clone)]
pub struct LogicalRow<'g> {
    pub op: Operation,
    pub obj: u64,
    pub data_obj: u64,
    pub rba: Rba,
    pub scn: u64,
    pub sub_scn: u64,
    pub con_id: Option<u64>,
    pub row: Option<(u64, u64)>,
    pub before: Option<Image<'g>>,
    pub after: Option<Image<'g>>,
    pub ddl: Option<&'g str>,
    pub ddl_command: Option<u16>,
    pub compressed: bool,
    pub undecoded: Option<String>,
    pub before_rest: Option<Arc<str>>,
    pub after_rest: Option<Arc<str>>,
    /// The pieces it was made of (none for DDL).
    pub pieces: &'g [Piece],
}

fn set<'g>(image: &mut Image<'g>, col: Col, value: Val<'g>) {
    match image.iter_mut().find(|(c, _)| *c == col) {
        Some(slot) => slot.1 = value,
        None => image.push((col, value)),
    }
}

/// One image from the parts' columns, later parts winning, split columns joined
/// (`_merge`); `Err(message)` when they cannot be.
fn merge<'g>(
    values: impl Iterator<Item = &'g (Col, Raw)>,
) -> std::result::Result<Image<'g>, String> {
    let mut out: Image<'g> = Vec::new();
    let mut split: Vec<(Col, Vec<&Fragment>)> = Vec::new();
    for (col, value) in values {
        match value {
            Raw::Part(f) => match split.iter_mut().find(|(c, _)| c == col) {
                Some((_, list)) => list.push(f),
                None => split.push((*col, vec![f])),
            },
            Raw::Null => set(&mut out, *col, Val::Null),
            Raw::Bytes(b) => set(&mut out, *col, Val::Bytes(Cow::Borrowed(b))),
            Raw::NotInRedo(r) => set(&mut out, *col, Val::NotInRedo(r)),
        }
    }
    for (col, fragments) in split {
        let joined = join(col, &fragments)?;
        set(&mut out, col, Val::Bytes(Cow::Owned(joined)));
    }
    Ok(out)
}

/// The column's parts in row order (`_join`).
fn join(col: Col, parts: &[&Fragment]) -> std::result::Result<Vec<u8>, String> {
    let starts: Vec<usize> = (0..parts.len()).filter(|&i| !parts[i].continues).collect();
    if starts.len() == 1 {
        let first = starts[0];
        // by_place: the last part at a place wins (a dict built in order)
        let by_place = |at: (u64, u64)| (0..parts.len()).rev().find(|&i| parts[i].at == at);
        let mut chain = vec![first];
        while parts[*chain.last().unwrap_or(&first)].goes_on && chain.len() < parts.len() {
            let last = parts[*chain.last().unwrap_or(&first)];
            let next = last.next.and_then(by_place);
            match next {
                Some(n) if !chain.contains(&n) && !chain.iter().any(|&c| parts[c] == parts[n]) => {
                    chain.push(n)
                }
                _ => break,
            }
        }
        let end = *chain.last().unwrap_or(&first);
        if chain.len() == parts.len() && !parts[end].goes_on {
            return Ok(chain
                .iter()
                .flat_map(|&i| parts[i].data.iter().copied())
                .collect());
        }
        if parts.len() == 2 && parts[first].goes_on {
            let other = if first == 0 { 1 } else { 0 };
            if parts[other].continues && !parts[other].goes_on {
                let mut out = parts[first].data.to_vec();
                out.extend_from_slice(&parts[other].data);
                return Ok(out);
            }
        }
    }
    Err(format!(
        "column {col} spans row pieces and {} part(s) of it do not join into one value (the \
         redo holds only some of its pieces)",
        parts.len()
    ))
}

fn code_op(piece: &Piece) -> Option<Operation> {
    if piece.kind == PieceKind::Iot {
        return match u8::try_from(piece.redo_code).ok()? {
            leaf::INSERT => Some(Operation::Insert),
            leaf::DELETE => Some(Operation::Delete),
            leaf::NONKEY | leaf::COLUMNS => Some(Operation::Update),
            _ => None,
        };
    }
    row_code_op(piece.redo_code)
}

fn row_code_op(redo_code: i64) -> Option<Operation> {
    match u8::try_from(redo_code).ok()? {
        code::IRP | code::QMI => Some(Operation::Insert),
        code::DRP | code::QMD => Some(Operation::Delete),
        code::URP | code::ORP => Some(Operation::Update),
        _ => None,
    }
}

fn supp_op(supp_type: u8) -> Option<Operation> {
    match supp_type {
        1 => Some(Operation::Update),
        2 => Some(Operation::Insert),
        4 => Some(Operation::Delete),
        _ => None,
    }
}

fn op_of(group: &[Piece]) -> Option<Operation> {
    if let Some(op) = group.iter().find_map(|p| supp_op(p.supp_type)) {
        return Some(op);
    }
    group.iter().find_map(code_op)
}

fn check_overflow_joined(op: Operation, group: &[Piece]) -> Result<()> {
    if !matches!(op, Operation::Insert | Operation::Delete) {
        return Ok(());
    }
    let goes_on = group
        .iter()
        .any(|p| p.kind == PieceKind::Iot && p.fb & FB_NEXT != 0 && p.fb & FB_LAST == 0);
    if goes_on && !group.iter().any(|p| p.kind == PieceKind::Row) {
        let first = &group[0];
        return Err(Error::undecodable(
            "IOT row goes on in its overflow segment, but no change of the overflow segment \
             came with it",
        )
        .at("rba", first.rba.to_string())
        .at("scn", first.scn)
        .at("obj", first.obj)
        .at("opcode", format!("10.{}", first.redo_code)));
    }
    Ok(())
}

fn head(group: &[Piece]) -> Option<(u64, u64)> {
    if let Some(p) = group
        .iter()
        .find(|p| p.fb & FB_HEAD != 0 && p.redo_code != 0)
    {
        return Some((p.bdba, slot_u64(p.slot)));
    }
    if let Some(row) = group.iter().find_map(|p| p.row) {
        return Some(row);
    }
    group.first().map(|p| (p.bdba, slot_u64(p.slot)))
}

fn slot_u64(slot: i64) -> u64 {
    u64::try_from(slot).unwrap_or(0)
}

fn row_of<'g>(op: Operation, first: &Piece, group: &'g [Piece]) -> LogicalRow<'g> {
    LogicalRow {
        op,
        obj: first.obj,
        data_obj: first.data_obj,
        rba: first.rba,
        scn: first.scn,
        sub_scn: first.sub_scn,
        con_id: first.con_id,
        row: head(group),
        before: None,
        after: None,
        ddl: None,
        ddl_command: None,
        compressed: false,
        undecoded: None,
        before_rest: None,
        after_rest: None,
        pieces: group,
    }
}

fn undecoded_row(group: &[Piece], op: Operation, reason: String) -> LogicalRow<'_> {
    let mut row = row_of(op, &group[0], group);
    row.undecoded = Some(reason);
    row
}

fn group_row(group: &[Piece]) -> Result<Option<LogicalRow<'_>>> {
    let op = op_of(group);
    if let Some(reason) = group.iter().find_map(|p| p.undecoded.clone()) {
        return Ok(Some(undecoded_row(
            group,
            op.unwrap_or(Operation::Unknown),
            reason,
        )));
    }
    let Some(op) = op else { return Ok(None) };
    check_overflow_joined(op, group)?;
    let supp = || group.iter().flat_map(|p| p.supp.iter());
    let before = if op == Operation::Insert {
        None
    } else {
        match merge(supp().chain(group.iter().flat_map(|p| p.before.iter()))) {
            Ok(image) => Some(image),
            Err(why) => return Ok(Some(undecoded_row(group, op, why))),
        }
    };
    let after = if op == Operation::Delete {
        None
    } else {
        match merge(supp().chain(group.iter().flat_map(|p| p.after.iter()))) {
            Ok(image) => Some(image),
            Err(why) => return Ok(Some(undecoded_row(group, op, why))),
        }
    };
    let before_rest = group.iter().find_map(|p| p.before_rest.clone());
    let after_rest = group.iter().find_map(|p| p.after_rest.clone());
    let undo_empty = group.iter().all(|p| p.before.is_empty());
    let redo_empty = group.iter().all(|p| p.after.is_empty());
    if op == Operation::Update
        && redo_empty
        && undo_empty
        && before_rest.is_none()
        && after_rest.is_none()
    {
        return Ok(None); // a lock or marker without column changes
    }
    let first = group
        .iter()
        .find(|p| p.redo_code != i64::from(code::LKR))
        .unwrap_or(&group[0]);
    let mut row = row_of(op, first, group);
    row.compressed = group.iter().any(|p| p.compressed);
    row.before_rest = if before.is_some() { before_rest } else { None };
    row.after_rest = if after.is_some() { after_rest } else { None };
    row.before = before;
    row.after = after;
    Ok(Some(row))
}

fn multi_rows(piece: &Piece, emit: &mut Emit<'_>) -> Result<()> {
    let Some(op) = row_code_op(piece.redo_code) else {
        return Ok(());
    };
    for (k, image) in piece.rows.iter().enumerate() {
        // whole rows of one block: no part of a split column
        let values = merge(image.iter()).unwrap_or_default();
        let slot = piece.slots.get(k).copied().unwrap_or(0);
        let mut row = row_of(op, piece, std::slice::from_ref(piece));
        row.row = Some((piece.bdba, slot_u64(slot)));
        if op == Operation::Delete {
            row.before = Some(values);
        } else if op == Operation::Insert {
            row.after = Some(values);
        }
        emit(row)?;
    }
    Ok(())
}

fn same_row(first: &Piece, piece: &Piece) -> bool {
    if first.obj != piece.obj {
        return false;
    }
    first.row.is_none() || piece.row.is_none() || first.row == piece.row
}

/// Where rows go as they are made: decoded before the next piece is taken.
pub type Emit<'e> = dyn FnMut(LogicalRow<'_>) -> Result<()> + 'e;

/// The streaming form of `assemble` over a committed transaction's row pieces (all but
/// its LOB pieces, in redo order): [`Grouper::push`] each index in order, then
/// [`Grouper::finish`]; each row goes to `emit` when it is complete, where the Python
/// generator yields it. A row's pieces are consecutive, so the open row is a range.
#[derive(Debug, Default)]
pub struct Grouper {
    start: usize,
    end: usize,
}

impl Grouper {
    fn flush(&mut self, pieces: &[Piece], emit: &mut Emit<'_>) -> Result<()> {
        if self.start == self.end {
            return Ok(());
        }
        let group = &pieces[self.start..self.end];
        self.start = self.end;
        match group_row(group)? {
            Some(row) => emit(row),
            None => Ok(()),
        }
    }

    fn open(&self) -> bool {
        self.start < self.end
    }

    /// Take the piece at `k` of `pieces` (the one after the last taken); the rows it
    /// closes go to `emit`, in order.
    pub fn push(&mut self, pieces: &[Piece], k: usize, emit: &mut Emit<'_>) -> Result<()> {
        let piece = &pieces[k];
        match piece.kind {
            PieceKind::Ddl => {
                self.flush(pieces, emit)?;
                let mut row = row_of(Operation::Ddl, piece, &[]);
                row.row = None;
                row.ddl = piece.ddl.as_deref();
                row.ddl_command = piece.ddl_command;
                return emit(row);
            }
            PieceKind::Multi | PieceKind::Direct => {
                self.flush(pieces, emit)?;
                return multi_rows(piece, emit);
            }
            _ => {}
        }
        if piece.supp_fb == 0 && piece.supp_type == 0 {
            if self.open() && pieces[self.start].obj == piece.obj {
                self.end = k + 1;
                return Ok(());
            }
            self.flush(pieces, emit)?;
            (self.start, self.end) = (k, k + 1);
            return self.flush(pieces, emit);
        }
        if piece.supp_first() || (self.open() && !same_row(&pieces[self.start], piece)) {
            self.flush(pieces, emit)?;
        }
        if !self.open() {
            self.start = k;
        }
        self.end = k + 1;
        if piece.supp_last() {
            self.flush(pieces, emit)?;
        }
        Ok(())
    }

    /// The last open row.
    pub fn finish(&mut self, pieces: &[Piece], emit: &mut Emit<'_>) -> Result<()> {
        self.flush(pieces, emit)
    }
}
