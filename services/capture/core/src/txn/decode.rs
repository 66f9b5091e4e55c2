//! A committed transaction's pieces to its changes with one dictionary version: row
//! changes to publish, system changes (the SYS dictionary tables') to hand over, and
//! what was dropped. The pieces stay with the commit ([`Held`]), so the same commit can
//! be decoded again with another version (`records(dictionary=…)`).

use std::sync::Arc;

use super::changes::{Context, marked_change, to_row_change};
use super::dict::{Codecs, Dictionary};
use super::lobs::LobAssembly;
use super::piece::Piece;
use super::rows::{Grouper, LogicalRow};
use super::system::{SystemChange, check_cluster_key, system_change};
use crate::error::{Error, ErrorKind, Result};
use crate::ops::Xid;
use crate::ops::kdo::FB_CLUSTER_KEY;
use crate::records::Rba;
use crate::wire::model::{Operation, RowChange};

/// The counter of changes of objects a dictionary does not know.
pub const SKIPPED_UNKNOWN: &str = "skipped_unknown_object";
/// The counter of undecodable changes of objects a dictionary does not know.
pub const UNDECODED_UNKNOWN: &str = "undecoded_unknown_object";
/// The counter of changes of tables the filter leaves out.
pub const SKIPPED_FILTERED: &str = "skipped_filtered";
/// The counter of DDL statements on the SYS dictionary tables themselves.
pub const SYSTEM_DDL: &str = "system_ddl";
/// The counter of a cluster's key entries inserted or deleted (not rows of a table).
pub const CLUSTER_KEY_ROWS: &str = "cluster_key_rows";

/// A committed transaction's pieces in redo order: the row pieces, and the LOB pieces
/// with how many row pieces came before each.
#[derive(Debug, Default)]
pub struct Held {
    pub rows: Vec<Piece>,
    pub lobs: Vec<(usize, Piece)>,
}

impl Held {
    /// Take one piece (in redo order).
    pub fn keep(&mut self, piece: Piece) {
        if piece.kind.is_lob() {
            self.lobs.push((self.rows.len(), piece));
        } else {
            self.rows.push(piece);
        }
    }
}

/// How a transaction is decoded, whatever the dictionary version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `publish_marked`: a change that does not decode is published marked.
    pub marked: bool,
    /// Changes of unknown objects are published (`UNKNOWN`.`OBJ# n`).
    pub include_unknown: bool,
}

/// What one decoding of a transaction made.
#[derive(Debug, Default)]
pub struct Decoded {
    pub changes: Vec<RowChange<'static>>,
    pub system: Vec<SystemChange>,
    /// Rows read from compressed blocks.
    pub compressed: u64,
    /// Changes left out, by counter (objects above `max_obj` the version does not know,
    /// or knows as not captured).
    pub dropped: Vec<&'static str>,
}

/// The context of `base` with the character sets of `dictionary`.
pub fn context_for(base: &Context, dictionary: &Dictionary) -> Context {
    Context {
        codecs: Codecs::of(dictionary),
        database_charset: dictionary.database_charset.clone(),
        ..base.clone()
    }
}

/// Decode `held` (the pieces of `xid`, committed at `rba`) with `dictionary`.
pub fn decode_held(
    held: &Held,
    xid: Xid,
    rba: Rba,
    dictionary: &Dictionary,
    ctx: &Context,
    policy: Policy,
) -> Result<Decoded> {
    let mut lobs = LobAssembly::new(xid, &ctx.database_charset);
    let mut grouper = Grouper::default();
    let mut out = Decoded::default();
    let mut next_lob = 0;
    let pieces = held.rows.as_slice();
    for k in 0..=pieces.len() {
        while next_lob < held.lobs.len() && held.lobs[next_lob].0 <= k {
            let piece = &held.lobs[next_lob].1;
            // A table created after this version (held for a later one): its rows are
            // left out below, so are its LOB pieces.
            if dictionary.table_for(piece.obj).is_some() {
                lobs.keep(piece.clone());
            }
            next_lob += 1;
        }
        let mut emit =
            |row: LogicalRow<'_>| route(&row, dictionary, ctx, &mut lobs, policy, &mut out);
        if k < pieces.len() {
            grouper.push(pieces, k, &mut emit)?;
        } else {
            grouper.finish(pieces, &mut emit)?;
        }
    }
    if let Err(err) = lobs.finish(rba) {
        if !(policy.marked && err.kind() == ErrorKind::Undecodable) {
            return Err(err);
        }
        let obj = LobAssembly::object_of(&err);
        let table = obj.and_then(|o| dictionary.table_for(o));
        let change = marked_change(obj, table.map(|t| &**t), err.to_string());
        if !out
            .changes
            .iter()
            .any(|c| c.undecoded.is_some() && c.obj == obj)
        {
            out.changes.push(change);
        }
    }
    Ok(out)
}

/// Where one row goes: a system change, dropped, or a row change.
fn route(
    row: &LogicalRow<'_>,
    dictionary: &Dictionary,
    ctx: &Context,
    lobs: &mut LobAssembly,
    policy: Policy,
    out: &mut Decoded,
) -> Result<()> {
    let table = dictionary.table_for(row.obj);
    match table {
        // the cluster's key entry (fb K: the key columns alone, once per key in the
        // block), which the redo names with one member table's objn: no row of it
        Some(t)
            if t.cluster_key_columns > 0
                && row.pieces.iter().any(|p| p.fb & FB_CLUSTER_KEY != 0) =>
        {
            out.dropped.push(CLUSTER_KEY_ROWS);
            return Ok(());
        }
        Some(t) if t.system => {
            // a dictionary table's own DDL (an upgrade's) is no row change to hand over
            // and, like all of a system table, never published
            if row.op == Operation::Ddl {
                out.dropped.push(SYSTEM_DDL);
            } else {
                out.system.push(system_change(row, t, ctx)?);
            }
            return Ok(());
        }
        // kept because the object might be new (above max_obj), or held across a new
        // version: what this version says of it decides
        Some(t) if !t.captured && !t.system => {
            out.dropped.push(SKIPPED_FILTERED);
            return Ok(());
        }
        None if !policy.include_unknown && row.obj != 0 => {
            out.dropped.push(if row.undecoded.is_some() {
                UNDECODED_UNKNOWN
            } else {
                SKIPPED_UNKNOWN
            });
            return Ok(());
        }
        _ => {}
    }
    if row.compressed {
        out.compressed += 1;
    }
    let table = table.map(|t| &**t);
    let decoded = (|| {
        if let Some(t) = table
            && t.cluster_key_columns > 0
        {
            check_cluster_key(row, t)?;
        }
        to_row_change(row, table, ctx, lobs)
    })();
    out.changes.push(match decoded {
        Ok(c) => c,
        Err(err) if err.kind() == ErrorKind::Undecodable && policy.marked => {
            let mut plain = row.clone();
            plain.before = None;
            plain.after = None;
            plain.undecoded = Some(err.to_string());
            to_row_change(&plain, table, ctx, lobs)?
        }
        Err(err) => return Err(err),
    });
    Ok(())
}

/// The error a change published marked `undecoded` is under `on_undecodable = stop`:
/// the first such change of `changes`, or `None`.
pub fn undecoded_error(
    changes: &[RowChange<'static>],
    xid: Xid,
    scn: u64,
    rba: Rba,
    thread: u64,
) -> Option<Error> {
    let change = changes.iter().find(|c| c.undecoded.is_some())?;
    let why = change.undecoded.as_deref().unwrap_or_default();
    let table = format!("{}.{}", change.table.owner(), change.table.table());
    let mut err = Error::undecodable(format!("cannot decode a change of a captured table: {why}"))
        .at("table", table)
        .at("xid", super::piece::xid_text(&xid));
    if let Some(p) = change.position.as_ref() {
        err = err.at("scn", p.scn).at("rba", rba_text(&p.rba));
    }
    Some(
        err.at("commit_scn", scn)
            .at("commit_rba", rba.to_string())
            .at("thread", thread)
            .at(
                "hint",
                "set source.on_undecodable = \"publish_marked\" to publish it marked \
                 (apply refuses it), or exclude the table",
            ),
    )
}

/// An RBA as the facts name it.
pub fn rba_text(rba: &crate::wire::model::RbaText) -> String {
    match rba {
        crate::wire::model::RbaText::Rba(r) => r.to_string(),
        crate::wire::model::RbaText::Text(t) => t.to_string(),
    }
}

/// A dictionary version shared by the commits decoded with it.
pub type Version = Arc<Dictionary>;
