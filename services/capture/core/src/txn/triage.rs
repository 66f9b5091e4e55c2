//! Records that change no captured object, handled from their opcodes and object numbers
//! (`redo/txn/triage.py`). In a filtered capture most records are undo/redo pairs of
//! tables nobody asked for: the assembler needs nothing from them but the count of
//! dropped changes, plus any transaction begin or end they carry. [`quick_effects`] works
//! that out from the record's vector scan and a few fixed-offset reads; a record that
//! needs more (an undo of a captured object, DDL, a captured table's LOB, a field too
//! short to read this way) gets `None` and is decoded in full.
//!
//! Which objects are captured is the caller's: a [`SkipReasons`] says why an object's
//! changes are skipped (the counter to bump), or `None` when they are captured.

use crate::error::Result;
use crate::layout as L;
use crate::ops::IntMap;
use crate::ops::dispatch::{OpCounters, ROW_CODES, RecordDecoder, RecordRef};
use crate::ops::kdli::quick_lob_table;
use crate::ops::lob::{LLB_TYPE_WRITE_BEGIN, quick_llb};
use crate::ops::undo::{TxBegin, TxEnd, quick_begin, quick_end, quick_rollback, quick_undo};
use crate::records::RecordWalker;
use crate::vectors::VectorSlot;

/// Why changes of an object are not captured.
pub trait SkipReasons {
    /// The reason to skip `obj`'s changes (a counter's name), `None` when captured.
    fn skip_reason(&self, obj: u32) -> Option<&str>;
}

/// A precomputed [`SkipReasons`]: a reason (or `None`: captured) per object, and one for
/// every object not listed, but those above `keep_above` (when not 0), which may have
/// been created since the dictionary was taken and are kept.
#[derive(Debug, Clone, Default)]
pub struct SkipMap {
    pub reasons: IntMap<u32, Option<Box<str>>>,
    pub default: Option<Box<str>>,
    pub keep_above: u32,
}

impl SkipReasons for SkipMap {
    fn skip_reason(&self, obj: u32) -> Option<&str> {
        match self.reasons.get(&obj) {
            Some(reason) => reason.as_deref(),
            None if self.keep_above > 0 && obj > self.keep_above => None,
            None => self.default.as_deref(),
        }
    }
}

/// A transaction begin or end, in record order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxBoundary {
    Begin(TxBegin),
    End(TxEnd),
}

/// A partial rollback of an uncaptured object: undo segment, slot, reason.
pub type QuickRollback<'r> = (u16, u8, &'r str);

/// What a record without captured changes does to the assembler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuickEffects<'r> {
    /// Why each change it carries is not captured, in order (counter names).
    pub dropped: Vec<&'r str>,
    /// Transaction begins and ends, in order.
    pub ends: Vec<TxBoundary>,
    /// Partial rollbacks.
    pub rollbacks: Vec<QuickRollback<'r>>,
}

/// The counter of LOB redo that names no table.
pub const LOB_REDO_UNATTRIBUTED: &str = "lob_redo_unattributed";
/// The counter of LOB pieces of uncaptured tables.
pub const LOB_PIECES_SKIPPED: &str = "lob_pieces_skipped";

/// The record's effects when `skip` gives a reason to skip the object of each of its
/// undo records, partial rollbacks and LOB writes; `None` when it must be decoded in full.
pub fn quick_effects<'r, S: SkipReasons + ?Sized>(
    rec: &RecordRef<'_>,
    skip: &'r S,
) -> Option<QuickEffects<'r>> {
    let mut out = QuickEffects::default();
    quick_effects_into(rec, skip, &mut out).then_some(out)
}

/// [`quick_effects`] into `out` (cleared first; its buffers are kept from one record to
/// the next): true when `out` holds the record's effects, false when it must be
/// decoded in full (`out` then holds nothing of use).
pub fn quick_effects_into<'r, S: SkipReasons + ?Sized>(
    rec: &RecordRef<'_>,
    skip: &'r S,
    out: &mut QuickEffects<'r>,
) -> bool {
    out.dropped.clear();
    out.ends.clear();
    out.rollbacks.clear();
    effects(rec, skip, out).is_some()
}

fn effects<'r, S: SkipReasons + ?Sized>(
    rec: &RecordRef<'_>,
    skip: &'r S,
    out: &mut QuickEffects<'r>,
) -> Option<()> {
    let slots = rec.slots;
    let mut rolled: Vec<usize> = Vec::new(); // row ops taken by partial rollbacks
    for (i, slot) in slots.iter().enumerate() {
        if encrypted(slot) && !(slot.layer == 5 && slot.code == 1) {
            continue; // decodes to a skipped op, which the assembler passes over
        }
        match (slot.layer, slot.code) {
            (5, 1) => {
                let reason = dropped_undo(rec, i, skip)?;
                if !reason.is_empty() {
                    out.dropped.push(reason);
                }
            }
            (5, 2) => out.ends.push(TxBoundary::Begin(quick_begin(
                rec.data,
                slot,
                rec.lengths,
                rec.endian,
                rec.wide,
            )?)),
            (5, 4) => out.ends.push(TxBoundary::End(quick_end(
                rec.data,
                slot,
                rec.lengths,
                rec.endian,
            )?)),
            (5, 6) | (5, 11) => rollback(rec, i, skip, &mut rolled, &mut out.rollbacks)?,
            (5, _) => {}
            _ => other(rec, slot, skip, &mut out.dropped)?,
        }
    }
    Some(())
}

#[inline]
fn encrypted(slot: &VectorSlot) -> bool {
    slot.typ & L::CV_TYPE_ENCRYPTED != 0
}

/// For the undo at `at` of an uncaptured object: why the piece the assembler would make
/// of it is dropped, or "" when it makes none; `None` when the object is captured or the
/// undo must be decoded in full.
fn dropped_undo<'r, S: SkipReasons + ?Sized>(
    rec: &RecordRef<'_>,
    at: usize,
    skip: &'r S,
) -> Option<&'r str> {
    let slot = &rec.slots[at];
    if encrypted(slot) {
        return None; // whose change it is nobody can tell: decoding refuses it
    }
    let (obj, row_undo) = quick_undo(rec.data, slot, rec.lengths, rec.endian)?;
    let reason = skip.skip_reason(obj)?;
    Some(if row_undo || paired_row_op(rec.slots, at).is_some() {
        reason
    } else {
        ""
    })
}

/// A vector outside layer 5: `None` for DDL and for a LOB vector that must be decoded in
/// full (a captured table's); else what the assembler would count for a LOB vector it
/// drops is added to `dropped`.
fn other<'r, S: SkipReasons + ?Sized>(
    rec: &RecordRef<'_>,
    slot: &VectorSlot,
    skip: &'r S,
    dropped: &mut Vec<&'r str>,
) -> Option<()> {
    let obj = match (slot.layer, slot.code) {
        (11, 17) => {
            let (kind, obj) = quick_llb(rec.data, slot, rec.lengths, rec.endian);
            if kind != i16::from(LLB_TYPE_WRITE_BEGIN) {
                // types 3/4 frame a write: no piece
                return (kind >= 0).then_some(());
            }
            obj
        }
        (11, _) => return Some(()), // the common case: a row operation
        (24, 1) => return None,
        (26, 2) | (26, 6) => {
            let obj = quick_lob_table(rec.data, slot, rec.lengths, rec.endian);
            if obj.is_none() {
                // names no table: the assembler counts it and leaves it out
                dropped.push(LOB_REDO_UNATTRIBUTED);
                return Some(());
            }
            obj
        }
        _ => return Some(()),
    };
    let reason = skip.skip_reason(obj?)?;
    dropped.push(reason);
    dropped.push(LOB_PIECES_SKIPPED);
    Some(())
}

/// Note the partial rollback at `at`; `None` when it needs full decoding.
fn rollback<'r, S: SkipReasons + ?Sized>(
    rec: &RecordRef<'_>,
    at: usize,
    skip: &'r S,
    rolled: &mut Vec<usize>,
    rollbacks: &mut Vec<QuickRollback<'r>>,
) -> Option<()> {
    let (obj, usn, slot) = quick_rollback(rec.data, &rec.slots[at], rec.lengths, rec.endian)?;
    let reason = skip.skip_reason(obj)?;
    // otherwise pieces_of yields no mark for it
    if let Some(applied) = rollback_row_op(rec.slots, at, rolled) {
        rolled.push(applied);
        rollbacks.push((usn, slot, reason));
    }
    Some(())
}

#[inline]
fn is_undo(slot: &VectorSlot) -> bool {
    !encrypted(slot) && slot.layer == 5 && slot.code == 1
}

#[inline]
fn is_row_op(slot: &VectorSlot) -> bool {
    !encrypted(slot) && slot.layer == 11 && ROW_CODES.contains(&slot.code)
}

/// The row operation that goes with the undo at `undo`: the next one before any other
/// undo or partial rollback (how `pieces_of` pairs).
fn paired_row_op(slots: &[VectorSlot], undo: usize) -> Option<usize> {
    for (j, slot) in slots.iter().enumerate().skip(undo + 1) {
        if is_row_op(slot) {
            return Some(j);
        }
        if !encrypted(slot) && slot.layer == 5 && matches!(slot.code, 1 | 6 | 11) {
            return None;
        }
    }
    None
}

/// The row operation a partial rollback at `at` applied: the one right before it, else
/// right after, if no earlier undo or rollback took it (as `pieces_of` pairs them).
fn rollback_row_op(slots: &[VectorSlot], at: usize, rolled: &[usize]) -> Option<usize> {
    let taken = |j: usize| {
        rolled.contains(&j)
            || (0..at).any(|u| is_undo(&slots[u]) && paired_row_op(slots, u) == Some(j))
    };
    [at.checked_sub(1), Some(at + 1)]
        .into_iter()
        .flatten()
        .find(|&j| j < slots.len() && !taken(j) && is_row_op(&slots[j]))
}

/// What [`triage_walk`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TriageTotals {
    pub records: u64,
    /// Record bytes, headers included.
    pub bytes: u64,
    /// Records the triage handled (`quick_effects` gave their effects).
    pub quick: u64,
    /// Records the triage passed on to full decoding.
    pub full: u64,
    /// Changes dropped, LOB redo left out, begins and ends, partial rollbacks noted.
    pub dropped: u64,
    pub ends: u64,
    pub rollbacks: u64,
    /// Vectors decoded (of the records passed on, when decoding was asked for).
    pub decoded: u64,
}

/// The reader's path up to the assembler over a whole log, in the core: every record
/// walked, its vectors counted by opcode (`VectorTally`), triaged with `skip`, and (when
/// `decode`) every record the triage passes on decoded. For the benchmark and the tests.
pub fn triage_walk<S: SkipReasons + ?Sized>(
    walker: &mut RecordWalker,
    skip: &S,
    decode: bool,
    counters: &mut OpCounters,
) -> Result<TriageTotals> {
    let (endian, wide) = (walker.file().endian(), walker.file().header.wide_vectors());
    let mut decoder = RecordDecoder::new();
    let mut t = TriageTotals::default();
    let mut effects = QuickEffects::default();
    while let Some(view) = walker.next_record()? {
        t.records += 1;
        t.bytes += u64::from(view.header.length);
        counters.tally(view.slots);
        let rec = RecordRef::of(&view, endian, wide);
        if quick_effects_into(&rec, skip, &mut effects) {
            t.quick += 1;
            t.dropped += effects.dropped.len() as u64;
            t.ends += effects.ends.len() as u64;
            t.rollbacks += effects.rollbacks.len() as u64;
        } else {
            t.full += 1;
            if decode {
                t.decoded += decoder.decode(&rec, None)?.len() as u64;
            }
        }
    }
    Ok(t)
}
