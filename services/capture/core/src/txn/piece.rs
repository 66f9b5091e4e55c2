//! From decoded records to buffered pieces (`redo/txn/pieces.py`): one [`Piece`] per
//! undo/redo pair (or DDL, LOB redo, direct-load block). Pure: no dictionary, no value
//! decoding. A piece owns its column bytes (it outlives the record) under absolute
//! 1-based column numbers, so row assembly at commit only merges.
//!
//! A change this build cannot decode becomes a piece of kind [`PieceKind::Undecoded`]
//! with the reason, decided at commit (`source.on_undecodable`): never a silent skip.

use std::sync::Arc;

use super::iot::{check_overflow, leaf_change, unpaired};
use crate::error::{Error, ErrorKind, Fact, Result};
use crate::ops::Xid;
use crate::ops::compressed::{NOT_LOGGED, Rest, image_values};
use crate::ops::ddl::Ddl;
use crate::ops::direct::DirectLoad;
use crate::ops::dispatch::{Op, ParsedVector, RecordDecoder, RecordRef};
use crate::ops::iot::UNDO_OPC;
use crate::ops::kdli::{LobBlockChange, LobPage};
use crate::ops::kdo::{Column, FB_CLUSTER_KEY, FB_NEXT, FB_PREV, RowOp, code};
use crate::ops::lob::{LLB_TYPE_WRITE_BEGIN, LobOp};
use crate::ops::undo::{MULTI_BLOCK, NON_ROW_UNDO_LAYERS, PartialRollback, UndoRecord};
use crate::records::Rba;

/// An absolute column number (1-based; computed from redo offsets, so signed).
pub type Col = i64;

/// Part of a column that spans row pieces (`common.Fragment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub data: Box<[u8]>,
    /// P: continues a part in the previous row piece.
    pub continues: bool,
    /// N: goes on in the next row piece.
    pub goes_on: bool,
    /// (block, slot) of the row piece holding this part.
    pub at: (u64, u64),
    /// The next row piece, where the redo names it.
    pub next: Option<(u64, u64)>,
}

/// A column as a piece holds it (`common.Raw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    Null,
    Bytes(Box<[u8]>),
    /// A value the redo does not carry, with the reason (`NotInRedo`).
    NotInRedo(Arc<str>),
    Part(Box<Fragment>),
}

impl Raw {
    fn of(value: Option<&[u8]>) -> Raw {
        match value {
            Some(v) => Raw::Bytes(v.into()),
            None => Raw::Null,
        }
    }

    /// The bytes of a plain value.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Raw::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Bytes this value holds (for the size estimate).
    pub fn len(&self) -> usize {
        match self {
            Raw::Bytes(b) => b.len(),
            Raw::Part(f) => f.data.len(),
            _ => 0,
        }
    }

    /// True when it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Column values by absolute number.
pub type Values = Vec<(Col, Raw)>;

/// What a buffered piece stands for (`PieceKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PieceKind {
    Row,
    Multi,
    Direct,
    Ddl,
    Undecoded,
    Iot,
    LobPage,
    LobWrite,
    LobChange,
    LobVoid,
}

impl PieceKind {
    /// The Python value.
    pub fn as_str(self) -> &'static str {
        match self {
            PieceKind::Row => "row",
            PieceKind::Multi => "multi",
            PieceKind::Direct => "direct",
            PieceKind::Ddl => "ddl",
            PieceKind::Undecoded => "undecoded",
            PieceKind::Iot => "iot",
            PieceKind::LobPage => "lob_page",
            PieceKind::LobWrite => "lob_write",
            PieceKind::LobChange => "lob_change",
            PieceKind::LobVoid => "lob_void",
        }
    }

    /// The kind named `text`.
    pub fn from_name(text: &str) -> Option<Self> {
        Some(match text {
            "row" => PieceKind::Row,
            "multi" => PieceKind::Multi,
            "direct" => PieceKind::Direct,
            "ddl" => PieceKind::Ddl,
            "undecoded" => PieceKind::Undecoded,
            "iot" => PieceKind::Iot,
            "lob_page" => PieceKind::LobPage,
            "lob_write" => PieceKind::LobWrite,
            "lob_change" => PieceKind::LobChange,
            "lob_void" => PieceKind::LobVoid,
            _ => return None,
        })
    }

    /// One of the `LOB_*` kinds.
    pub fn is_lob(self) -> bool {
        matches!(
            self,
            PieceKind::LobPage | PieceKind::LobWrite | PieceKind::LobChange | PieceKind::LobVoid
        )
    }
}

/// The LOB a `LOB_*` piece is about (`LobRef`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobRef {
    pub lid: Box<[u8]>,
    pub column: i64,
    pub op: i64,
    pub length: Option<i64>,
}

/// One buffered unit of a transaction (`Piece`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub kind: PieceKind,
    pub rba: Rba,
    pub scn: u64,
    pub sub_scn: u64,
    pub con_id: Option<u64>,
    pub obj: u64,
    pub data_obj: u64,
    pub redo_code: i64,
    pub undo_code: i64,
    pub bdba: u64,
    pub slot: i64,
    pub fb: u8,
    pub supp_type: u8,
    pub supp_fb: u8,
    pub row: Option<(u64, u64)>,
    pub before: Values,
    pub after: Values,
    pub supp: Values,
    pub rows: Vec<Values>,
    pub slots: Vec<i64>,
    pub ddl: Option<String>,
    /// DDL pieces: Oracle's command number (`drcommon.sqlcommand`).
    pub ddl_command: Option<u16>,
    pub compressed: bool,
    pub undecoded: Option<String>,
    pub before_rest: Option<Arc<str>>,
    pub after_rest: Option<Arc<str>>,
    pub lob: Option<LobRef>,
}

impl Piece {
    /// A piece of `kind` at `at` with every other field empty.
    pub fn empty(kind: PieceKind, at: &At) -> Piece {
        Piece {
            kind,
            rba: at.rba,
            scn: at.scn,
            sub_scn: at.sub_scn,
            con_id: None,
            obj: 0,
            data_obj: 0,
            redo_code: 0,
            undo_code: 0,
            bdba: 0,
            slot: 0,
            fb: 0,
            supp_type: 0,
            supp_fb: 0,
            row: None,
            before: Vec::new(),
            after: Vec::new(),
            supp: Vec::new(),
            rows: Vec::new(),
            slots: Vec::new(),
            ddl: None,
            ddl_command: None,
            compressed: false,
            undecoded: None,
            before_rest: None,
            after_rest: None,
            lob: None,
        }
    }

    /// Opens a logical row change (supplemental F flag).
    pub fn supp_first(&self) -> bool {
        self.supp_fb & 0x08 != 0
    }

    /// Closes a logical row change (supplemental L flag).
    pub fn supp_last(&self) -> bool {
        self.supp_fb & 0x04 != 0
    }

    /// Where it stands in its transaction (`redo_key`).
    pub fn key(&self) -> (u64, u64) {
        (self.scn, self.sub_scn)
    }
}

/// A partial rollback: the change at (data_obj, bdba, slot) of `xid`'s slot was undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackMark {
    pub xid: Xid,
    pub obj: u64,
    pub data_obj: u64,
    pub code: i64,
    pub bdba: u64,
    pub slot: i64,
    pub slots: Vec<i64>,
    pub rba: Rba,
    pub iot: bool,
    pub scn: u64,
    pub sub_scn: u64,
}

/// What a record contributes: a piece of a transaction, or a partial-rollback mark.
#[allow(clippy::large_enum_variant)] // made and taken one at a time
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Piece(Xid, Piece),
    Mark(RollbackMark),
}

/// Where a record is: its RBA, SCN and sub-SCN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub rba: Rba,
    pub scn: u64,
    pub sub_scn: u64,
}

/// `str(xid)`: `10.12.572` (`?` for an unknown sqn).
pub fn xid_text(xid: &Xid) -> String {
    match xid.sqn {
        Some(sqn) => format!("{}.{}.{}", xid.usn, xid.slot, sqn),
        None => format!("{}.{}.?", xid.usn, xid.slot),
    }
}

/// Piece-relative columns to absolute numbers (`absolute`).
pub fn absolute(columns: &[Column<'_>], start: i64) -> Values {
    absolute_after(columns, start, 0)
}

/// [`absolute`] for a row stored after `key` cluster key columns (`TAB$.CLUCOLS`): with
/// no `start` (no supplemental data) row column i is number key + 1 + i; a supplemental
/// start already counts the key (it numbers the first column listed by SEGCOL#).
pub fn absolute_after(columns: &[Column<'_>], start: i64, key: i64) -> Values {
    if columns.is_empty() {
        return Vec::new();
    }
    if start <= 0 {
        return columns
            .iter()
            .map(|c| (i64::from(c.index) + 1 + key, Raw::of(c.value)))
            .collect();
    }
    let first = i64::from(columns[0].index);
    columns
        .iter()
        .map(|c| (start + i64::from(c.index) - first, Raw::of(c.value)))
        .collect()
}

/// Split columns' parts marked as fragments (`split_parts`).
fn split_parts(mut values: Values, op: &RowOp<'_>) -> Values {
    let fb = op.fb;
    if fb & (FB_PREV | FB_NEXT) == 0 || values.is_empty() {
        return values;
    }
    for (k, column) in op.columns.iter().enumerate() {
        let first = fb & FB_PREV != 0 && column.index == 0;
        let last = fb & FB_NEXT != 0 && i64::from(column.index) == i64::from(op.cc) - 1;
        let Some(slot) = values.get_mut(k) else { break };
        if (first || last)
            && let Raw::Bytes(data) = &slot.1
        {
            slot.1 = Raw::Part(Box::new(Fragment {
                data: data.clone(),
                continues: first,
                goes_on: last,
                at: (u64::from(op.bdba), u64::from(op.slot)),
                next: op.nrid.map(|(b, s)| (u64::from(b), u64::from(s))),
            }));
        }
    }
    values
}

fn image(op: Option<&RowOp<'_>>, start: i64, key: i64) -> Values {
    match op {
        None => Vec::new(),
        Some(op) => split_parts(absolute_after(&op.columns, start, key), op),
    }
}

/// NULLs for the columns an update cut off the end of a row piece (`_cut_off`).
fn cut_off(redo: Option<&RowOp<'_>>, undo: Option<&RowOp<'_>>, start: i64, key: i64) -> Values {
    let (Some(redo), Some(undo)) = (redo, undo) else {
        return Vec::new();
    };
    if redo.code != code::URP
        || undo.code != code::URP
        || redo.cc >= undo.cc
        || redo.columns.is_empty()
    {
        return Vec::new();
    }
    let shift = if start > 0 {
        start - i64::from(redo.columns[0].index)
    } else {
        1 + key
    };
    (u32::from(redo.cc)..u32::from(undo.cc))
        .filter(|index| !redo.columns.iter().any(|c| c.index == *index))
        .map(|index| (i64::from(index) + shift, Raw::Null))
        .collect()
}

fn listed_values(columns: &[(u16, Option<&[u8]>)]) -> Values {
    columns
        .iter()
        .map(|(c, v)| (i64::from(*c), Raw::of(*v)))
        .collect()
}

struct Images {
    before: Values,
    after: Values,
    supp: Values,
    before_rest: Option<Arc<str>>,
    after_rest: Option<Arc<str>>,
}

fn not_logged() -> Arc<str> {
    Arc::from(NOT_LOGGED)
}

fn rest_of(rest: Rest) -> Option<Arc<str>> {
    match rest {
        Rest::Nothing => None,
        Rest::NotLogged => Some(not_logged()),
    }
}

/// Column values of both sides (`_images`): a compressed row image takes its values from
/// the supplemental columns.
fn images(at: &At, undo: &UndoRecord<'_>, redo: Option<&RowOp<'_>>, key: i64) -> Result<Images> {
    let supp = undo.supplemental.as_ref();
    let undo_op = undo.row_op.as_ref();
    let start_redo = supp.map_or(0, |s| i64::from(s.start_redo));
    let before = image(undo_op, supp.map_or(0, |s| i64::from(s.start_undo)), key);
    let mut after = image(redo, start_redo, key);
    after.extend(cut_off(redo, undo_op, start_redo, key));
    let undo_packed = undo_op.and_then(|o| o.packed.as_ref());
    let redo_packed = redo.and_then(|o| o.packed.as_ref());
    if undo_packed.is_none() && redo_packed.is_none() {
        return Ok(Images {
            before,
            after,
            supp: supp.map_or_else(Vec::new, |s| listed_values(&s.columns)),
            before_rest: None,
            after_rest: None,
        });
    }
    let where_: Vec<(&'static str, Fact)> = vec![
        ("rba", Fact::from(at.rba.to_string())),
        ("obj", Fact::from(undo.ktub.obj)),
        ("xid", Fact::from(xid_text(&undo.xid))),
    ];
    if undo_packed.is_some() && redo_packed.is_some() {
        return Err(Error::undecodable(
            "compressed row images on both sides of one change: the supplemental columns \
             describe only one of them",
        )
        .with(&where_));
    }
    let supp_columns: &[(u16, Option<&[u8]>)] = supp.map_or(&[], |s| &s.columns);
    if let (Some(packed), Some(undo_op)) = (undo_packed, undo_op) {
        let mut at_facts = vec![("opcode", Fact::from(format!("11.{} (undo)", undo_op.code)))];
        at_facts.extend(where_);
        let (values, rest) = image_values(packed, supp_columns, &at_facts)?;
        return Ok(Images {
            before: listed_values(values),
            after,
            supp: Vec::new(),
            before_rest: rest_of(rest),
            after_rest: None,
        });
    }
    let (Some(redo), Some(packed)) = (redo, redo_packed) else {
        return Err(Error::parse("compressed image without its row op"));
    };
    let mut at_facts = vec![("opcode", Fact::from(format!("11.{}", redo.code)))];
    at_facts.extend(where_);
    let (values, rest) = image_values(packed, supp_columns, &at_facts)?;
    Ok(Images {
        before,
        after: listed_values(values),
        supp: Vec::new(),
        before_rest: None,
        after_rest: rest_of(rest),
    })
}

fn con_id(pv: &ParsedVector<'_>) -> Option<u64> {
    pv.header.con_id.map(u64::from)
}

fn row_piece(
    at: &At,
    undo: &UndoRecord<'_>,
    redo: Option<&RowOp<'_>>,
    con: Option<u64>,
    key: i64,
) -> Result<Piece> {
    let supp = undo.supplemental.as_ref();
    let undo_op = undo.row_op.as_ref();
    let multi =
        redo.is_some_and(|r| !r.rows.is_empty()) || undo_op.is_some_and(|u| !u.rows.is_empty());
    let mut rows = Vec::new();
    let mut slots = Vec::new();
    if multi {
        let source = match redo {
            Some(r) if !r.rows.is_empty() && !r.rows[0].columns.is_empty() => Some(r),
            _ => undo_op,
        };
        if let Some(source) = source {
            rows = source
                .rows
                .iter()
                .map(|r| absolute_after(&r.columns, 0, key))
                .collect();
            slots = redo
                .unwrap_or(source)
                .rows
                .iter()
                .map(|r| i64::from(r.slot))
                .collect();
        }
    }
    let anchor = redo.or(undo_op);
    let imgs = images(at, undo, redo, key)?;
    let mut piece = Piece::empty(
        if multi {
            PieceKind::Multi
        } else {
            PieceKind::Row
        },
        at,
    );
    piece.con_id = con;
    piece.obj = u64::from(undo.ktub.obj);
    piece.data_obj = u64::from(undo.ktub.data_obj);
    piece.redo_code = redo.map_or(0, |r| i64::from(r.code));
    piece.undo_code = undo_op.map_or(0, |u| i64::from(u.code));
    piece.bdba = anchor.map_or(0, |a| u64::from(a.bdba));
    piece.slot = anchor.map_or(0, |a| i64::from(a.slot));
    piece.fb = redo.map_or(0, |r| r.fb);
    if key > 0 {
        // a cluster's key entry (K) is no member row: marked whichever side shows it (a
        // deleted entry's redo has no flags, its undo has)
        piece.fb |= undo_op.map_or(0, |u| u.fb & FB_CLUSTER_KEY);
    }
    piece.supp_type = supp.map_or(0, |s| s.op_type);
    piece.supp_fb = supp.map_or(0, |s| s.fb);
    piece.row = supp
        .and_then(|s| s.row)
        .map(|(b, s)| (u64::from(b), u64::from(s)));
    piece.before = imgs.before;
    piece.after = imgs.after;
    piece.supp = imgs.supp;
    piece.rows = rows;
    piece.slots = slots;
    piece.compressed =
        redo.is_some_and(|r| r.compressed()) || undo_op.is_some_and(|u| u.compressed());
    piece.before_rest = imgs.before_rest;
    piece.after_rest = imgs.after_rest;
    Ok(piece)
}

/// A piece standing for a partial rollback whose effect cannot be worked out.
pub fn undecoded_mark(mark: &RollbackMark, reason: String) -> Piece {
    let mut piece = Piece::empty(
        PieceKind::Undecoded,
        &At {
            rba: mark.rba,
            scn: mark.scn,
            sub_scn: mark.sub_scn,
        },
    );
    piece.obj = mark.obj;
    piece.data_obj = mark.data_obj;
    piece.undo_code = mark.code;
    piece.bdba = mark.bdba;
    piece.slot = mark.slot;
    piece.undecoded = Some(reason);
    piece
}

fn undecoded_piece(
    at: &At,
    undo: &UndoRecord<'_>,
    reason: String,
    opcode: i64,
    con: Option<u64>,
) -> Piece {
    let row_op = undo.row_op.as_ref();
    let supp = undo.supplemental.as_ref();
    let mut piece = Piece::empty(PieceKind::Undecoded, at);
    piece.con_id = con;
    piece.obj = u64::from(undo.ktub.obj);
    piece.data_obj = u64::from(undo.ktub.data_obj);
    piece.redo_code = opcode;
    piece.undo_code = row_op.map_or(0, |r| i64::from(r.code));
    piece.bdba = row_op.map_or(0, |r| u64::from(r.bdba));
    piece.slot = row_op.map_or(0, |r| i64::from(r.slot));
    piece.supp_type = supp.map_or(0, |s| s.op_type);
    piece.supp_fb = supp.map_or(0, |s| s.fb);
    piece.row = supp
        .and_then(|s| s.row)
        .map(|(b, s)| (u64::from(b), u64::from(s)));
    piece.undecoded = Some(reason);
    piece
}

/// Why the change whose undo is at `at` cannot be decoded, with the opcode to name
/// (`_why_undecodable`).
fn why_undecodable(
    ops: &[ParsedVector<'_>],
    at: usize,
    undo: &UndoRecord<'_>,
    paired: bool,
) -> Option<(String, i64)> {
    let (layer, code) = undo.ktub.opc;
    if NON_ROW_UNDO_LAYERS.contains(&layer) {
        return None;
    }
    if (layer, code) != (11, 1) {
        return Some((
            format!("the undo of operation {layer}.{code} is not decoded"),
            i64::from(layer) * 1000 + i64::from(code),
        ));
    }
    if undo.ktub.flags & MULTI_BLOCK != 0 {
        return Some((
            format!(
                "a multi-block undo record (flags 0x{:04x}) is not reassembled",
                undo.ktub.flags
            ),
            5001,
        ));
    }
    if let Some(err) = &undo.row_error {
        return Some((format!("its undo row operation: {err}"), 5001));
    }
    if paired {
        return None;
    }
    let next = ops[at + 1..]
        .iter()
        .map(|p| &p.op)
        .find(|op| !matches!(op, Op::Begin(_) | Op::End(_)));
    match next {
        Some(Op::Undecodable {
            layer,
            code,
            reason,
        }) => {
            return Some((
                format!("{layer}.{code}: {reason}"),
                i64::from(*layer) * 1000 + i64::from(*code),
            ));
        }
        Some(Op::Unknown { layer: 11, code }) => {
            return Some((
                format!("row operation 11.{code} is not decoded"),
                11000 + i64::from(*code),
            ));
        }
        Some(Op::Skipped {
            layer,
            code,
            reason: "encrypted",
        }) => {
            return Some((
                format!("the change ({layer}.{code}) is encrypted (TDE)"),
                i64::from(*layer) * 1000 + i64::from(*code),
            ));
        }
        _ => {}
    }
    if undo.row_op.is_none() {
        return Some(("an undo record without its row operation".into(), 11001));
    }
    None
}

/// The layer-11 vector that goes with the undo at `start - 1` (`_next_row_op`).
fn next_row_op(ops: &[ParsedVector<'_>], start: usize) -> Option<usize> {
    for (i, pv) in ops.iter().enumerate().skip(start) {
        match pv.op {
            Op::Row(_) => return Some(i),
            Op::Undo(_) | Op::PartialRollback(_) => return None,
            _ => {}
        }
    }
    None
}

/// The row op applied by the partial rollback at `at` (`_rollback_row_op`).
fn rollback_row_op(ops: &[ParsedVector<'_>], at: usize, used: &[usize]) -> Option<usize> {
    [at.checked_sub(1), Some(at + 1)]
        .into_iter()
        .flatten()
        .find(|&j| j < ops.len() && !used.contains(&j) && matches!(ops[j].op, Op::Row(_)))
}

/// The layer-10 vector that goes with the IOT undo at `start - 1` (`_leaf_vector`).
fn leaf_vector(ops: &[ParsedVector<'_>], start: usize) -> Option<usize> {
    for (i, pv) in ops.iter().enumerate().skip(start) {
        if pv.header.layer == 10 {
            return Some(i);
        }
        if matches!(pv.op, Op::Undo(_) | Op::PartialRollback(_)) {
            return None;
        }
    }
    None
}

/// What cutting a change into pieces needs to know of its object (`undo objn`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Segment {
    /// A segment (index or overflow) of a captured IOT.
    pub captured_iot: bool,
    /// `TAB$.CLUCOLS` of a table stored in a cluster (0: not clustered).
    pub cluster_key_columns: i64,
}

/// The record being cut into pieces, with what its IOT changes need.
pub struct Source<'r, 'a> {
    pub rec: &'r RecordRef<'a>,
    pub decoder: &'r RecordDecoder,
    pub ops: &'r [ParsedVector<'a>],
    pub at: At,
}

impl Source<'_, '_> {
    fn iot_piece(
        &self,
        undo: &UndoRecord<'_>,
        i: usize,
        used: &mut Vec<usize>,
        con: Option<u64>,
    ) -> Result<Piece> {
        let undo_cv = self.decoder.vector(self.rec, i)?;
        let Some(j) = leaf_vector(self.ops, i + 1) else {
            return Err(unpaired(&self.at, undo, &undo_cv));
        };
        used.push(j);
        let redo_cv = self.decoder.vector(self.rec, j)?;
        let leaf = leaf_change(&self.at, undo, &undo_cv, &redo_cv)?;
        let supp = leaf.supplemental.as_ref();
        let mut piece = Piece::empty(PieceKind::Iot, &self.at);
        piece.con_id = con;
        piece.obj = u64::from(undo.ktub.obj);
        piece.data_obj = u64::from(undo.ktub.data_obj);
        piece.redo_code = i64::from(leaf.code);
        piece.undo_code = i64::from(leaf.undo_kind);
        piece.bdba = u64::from(leaf.bdba);
        piece.slot = i64::from(leaf.slot);
        piece.fb = leaf.fb;
        piece.supp_type = supp.map_or(0, |s| s.op_type);
        piece.supp_fb = supp.map_or(0, |s| s.fb);
        piece.supp = supp.map_or_else(Vec::new, |s| listed_values(&s.columns));
        piece.before = leaf.before;
        piece.after = leaf.after;
        Ok(piece)
    }

    fn iot_rollback(
        &self,
        op: &PartialRollback,
        i: usize,
        used: &mut Vec<usize>,
    ) -> Result<RollbackMark> {
        for j in [i.checked_sub(1), Some(i + 1)].into_iter().flatten() {
            if j < self.ops.len() && !used.contains(&j) && self.ops[j].header.layer == 10 {
                used.push(j);
                let head = &self.ops[j].header;
                return Ok(RollbackMark {
                    xid: op.xid,
                    obj: u64::from(op.ktub.obj),
                    data_obj: u64::from(op.ktub.data_obj),
                    code: i64::from(head.code),
                    bdba: u64::from(head.dba),
                    slot: 0,
                    slots: Vec::new(),
                    rba: self.at.rba,
                    iot: true,
                    scn: self.at.scn,
                    sub_scn: self.at.sub_scn,
                });
            }
        }
        Err(
            Error::undecodable("partial rollback on an IOT without the leaf undo it applied")
                .at("rba", self.at.rba.to_string())
                .at("xid", xid_text(&op.xid))
                .at("obj", op.ktub.obj)
                .at("opcode", format!("5.{}", op.code)),
        )
    }

    /// The pieces (and partial-rollback marks) of the record, in order, into `out`
    /// (`pieces_of`); `seg` says which objects are segments of captured IOTs and which
    /// are tables stored in a cluster (one look-up per undo). An error comes after the
    /// items made before it (the caller takes those first).
    pub fn pieces_of(&self, seg: &dyn Fn(u32) -> Segment, out: &mut Vec<Item>) -> Result<()> {
        let mut used: Vec<usize> = Vec::new();
        for (i, parsed) in self.ops.iter().enumerate() {
            match &parsed.op {
                Op::Undo(op) => self.undo_pieces(i, op, &mut used, seg, out)?,
                Op::PartialRollback(op) => {
                    if let Some(mark) = self.rollback_mark(i, op, &mut used, seg)? {
                        out.push(Item::Mark(mark));
                    }
                }
                Op::LobPage(op) => out.extend(lob_page(&self.at, op, con_id(parsed))),
                Op::Lob(op) => out.extend(lob_write(&self.at, op, con_id(parsed))),
                Op::LobBlockChange(op) => out.extend(lob_change(&self.at, op, con_id(parsed))),
                Op::Ddl(op) => {
                    out.push(Item::Piece(op.xid, ddl_piece(&self.at, op, con_id(parsed))))
                }
                Op::Skipped {
                    layer: 5,
                    code: 1,
                    reason: "encrypted",
                } => {
                    return Err(Error::undecodable(
                        "an encrypted undo record (TDE-encrypted undo) names neither its \
                         transaction nor its table: capture cannot tell whether it is captured",
                    )
                    .at("rba", self.at.rba.to_string())
                    .at("scn", self.at.scn)
                    .at("vector", parsed.index));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn undo_pieces(
        &self,
        i: usize,
        op: &UndoRecord<'_>,
        used: &mut Vec<usize>,
        seg: &dyn Fn(u32) -> Segment,
        out: &mut Vec<Item>,
    ) -> Result<()> {
        let con = con_id(&self.ops[i]);
        let segment = seg(op.ktub.obj);
        let captured_iot = segment.captured_iot;
        if captured_iot && op.ktub.opc == UNDO_OPC {
            match self.iot_piece(op, i, used, con) {
                Ok(piece) => out.push(Item::Piece(op.xid, piece)),
                Err(err) if err.kind() == ErrorKind::Undecodable => out.push(Item::Piece(
                    op.xid,
                    undecoded_piece(&self.at, op, err.to_string(), 10000, con),
                )),
                Err(err) => return Err(err),
            }
            return Ok(());
        }
        let j = next_row_op(self.ops, i + 1);
        if let Some(j) = j {
            used.push(j);
        }
        let redo = j.and_then(|j| match &self.ops[j].op {
            Op::Row(r) => Some(r),
            _ => None,
        });
        let mut why = why_undecodable(self.ops, i, op, redo.is_some());
        if why.is_none() && (op.row_op.is_some() || redo.is_some()) {
            let made =
                row_piece(&self.at, op, redo, con, segment.cluster_key_columns).and_then(|piece| {
                    if captured_iot {
                        check_overflow(
                            &self.at,
                            op,
                            &piece.before,
                            &piece.after,
                            piece.kind != PieceKind::Row,
                        )?;
                    }
                    Ok(piece)
                });
            match made {
                Ok(piece) => out.push(Item::Piece(op.xid, piece)),
                Err(err) if err.kind() == ErrorKind::Undecodable => {
                    why = Some((
                        err.to_string(),
                        11000 + redo.map_or(0, |r| i64::from(r.code)),
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        if let Some((reason, opcode)) = why {
            out.push(Item::Piece(
                op.xid,
                undecoded_piece(&self.at, op, reason, opcode, con),
            ));
        }
        Ok(())
    }

    fn rollback_mark(
        &self,
        i: usize,
        op: &PartialRollback,
        used: &mut Vec<usize>,
        seg: &dyn Fn(u32) -> Segment,
    ) -> Result<Option<RollbackMark>> {
        if let Some(j) = rollback_row_op(self.ops, i, used)
            && let Op::Row(redo) = &self.ops[j].op
        {
            used.push(j);
            return Ok(Some(RollbackMark {
                xid: op.xid,
                obj: u64::from(op.ktub.obj),
                data_obj: u64::from(op.ktub.data_obj),
                code: i64::from(redo.code),
                bdba: u64::from(redo.bdba),
                slot: i64::from(redo.slot),
                slots: redo.rows.iter().map(|r| i64::from(r.slot)).collect(),
                rba: self.at.rba,
                iot: false,
                scn: self.at.scn,
                sub_scn: self.at.sub_scn,
            }));
        }
        if seg(op.ktub.obj).captured_iot {
            return self.iot_rollback(op, i, used).map(Some);
        }
        Ok(None)
    }
}

fn ddl_piece(at: &At, op: &Ddl, con: Option<u64>) -> Piece {
    let mut piece = Piece::empty(PieceKind::Ddl, at);
    piece.con_id = con;
    piece.obj = op.obj.map_or(0, u64::from);
    piece.ddl = Some(op.sql.clone());
    piece.ddl_command = Some(op.command);
    piece
}

#[allow(clippy::too_many_arguments)]
fn lob_item(
    at: &At,
    kind: PieceKind,
    xid: Xid,
    obj: u32,
    data_obj: u32,
    dba: u32,
    lob: LobRef,
    after: Values,
    con: Option<u64>,
) -> Item {
    let mut piece = Piece::empty(kind, at);
    piece.con_id = con;
    piece.obj = u64::from(obj);
    piece.data_obj = u64::from(data_obj);
    piece.bdba = u64::from(dba);
    piece.slot = lob.column;
    piece.after = after;
    piece.lob = Some(lob);
    Item::Piece(xid, piece)
}

/// A 26.6 page as a piece (`lob_piece`); None when it names no table.
fn lob_page(at: &At, op: &LobPage<'_>, con: Option<u64>) -> Option<Item> {
    let obj = op.obj?;
    let column = op.column.map_or(0, i64::from);
    Some(lob_item(
        at,
        PieceKind::LobPage,
        op.xid,
        obj,
        op.data_obj,
        op.dba,
        LobRef {
            lid: op.lid.into(),
            column,
            op: 0,
            length: None,
        },
        vec![(column, Raw::Bytes(op.data.into()))],
        con,
    ))
}

/// An LLB type 1 as a piece (a write begins); None for the others.
fn lob_write(at: &At, op: &LobOp<'_>, con: Option<u64>) -> Option<Item> {
    if op.kind != LLB_TYPE_WRITE_BEGIN {
        return None;
    }
    let (xid, obj, lid) = (op.xid?, op.obj?, op.lid?);
    Some(lob_item(
        at,
        PieceKind::LobWrite,
        xid,
        obj,
        0,
        0,
        LobRef {
            lid: lid.into(),
            column: op.columns.first().map_or(0, |&c| i64::from(c)),
            op: op.op.map_or(0, i64::from),
            length: op.length.map(i64::from),
        },
        Vec::new(),
        con,
    ))
}

/// A 26.2 (or non-image 26.6) as a piece; None when it names no table or transaction.
fn lob_change(at: &At, op: &LobBlockChange<'_>, con: Option<u64>) -> Option<Item> {
    let (obj, xid) = (op.obj?, op.xid?);
    Some(lob_item(
        at,
        PieceKind::LobChange,
        xid,
        obj,
        0,
        op.dba,
        LobRef {
            lid: op.lid.unwrap_or(&[]).into(),
            column: op.column.map_or(0, i64::from),
            op: i64::from(op.kdli_op),
            length: None,
        },
        Vec::new(),
        con,
    ))
}

/// How many LOB ops of a record name no table or transaction (`unattributed`).
pub fn unattributed(ops: &[ParsedVector<'_>]) -> u64 {
    ops.iter()
        .map(|pv| match &pv.op {
            Op::LobPage(p) => u64::from(p.obj.is_none()),
            Op::LobBlockChange(c) => u64::from(c.obj.is_none() || c.xid.is_none()),
            _ => 0,
        })
        .sum()
}

/// A direct-path loaded table block as a piece of inserted rows (`direct_piece`).
pub fn direct_piece(at: &At, load: &DirectLoad<'_>) -> Piece {
    let mut piece = Piece::empty(PieceKind::Direct, at);
    piece.data_obj = u64::from(load.data_obj);
    piece.bdba = u64::from(load.bdba);
    piece.rows = load.rows.iter().map(|r| absolute(&r.columns, 0)).collect();
    piece.slots = load.rows.iter().map(|r| i64::from(r.slot)).collect();
    piece
}

/// `pieces` sorted by (SCN, sub-SCN), stable (`in_redo_order`).
pub fn in_redo_order(pieces: &mut [Piece]) {
    if pieces.windows(2).any(|w| w[1].key() < w[0].key()) {
        pieces.sort_by_key(Piece::key);
    }
}
