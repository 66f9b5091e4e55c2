//! The JSON bodies, byte for byte as `drcommon.serde.encode` writes them
//! (`orjson.dumps(model_dump(mode="json", by_alias=True, exclude_none=True))`): keys in
//! field order, optional fields left out when absent, `NULL` column values kept.
//!
//! A change is written with the values the serialiser moved out of it replaced by their
//! reference ([`Moved`], kept in the order `drcommon.chunking.value_refs` lists them:
//! before, after, column order, LOB writes in order).

use std::io::Write;

use super::chunks::Cut;
use super::json::{write_bool, write_str, write_u64};
use super::model::{
    Image, LobWrites, RbaText, RowChange, RowId, SourcePosition, TransactionInfo, Value,
};

/// `drcommon.model.SCHEMA_VERSION`.
pub const SCHEMA_VERSION: u64 = 1;

/// Which image a moved value is in.
pub(crate) const BEFORE: u8 = 0;
pub(crate) const AFTER: u8 = 1;
/// The whole value moved (not one LOB write of it).
pub(crate) const WHOLE: u32 = u32::MAX;

/// Where a value sits in a change: image, entry index, LOB write index or [`WHOLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Slot {
    pub side: u8,
    pub entry: u32,
    pub write: u32,
}

/// A value moved out of a change: where it was, and the id of its [`Cut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moved {
    pub slot: Slot,
    pub id: u32,
}

/// The moved values of one image, consumed in order while the image is written.
struct MovedIter<'m> {
    rest: &'m [Moved],
}

impl MovedIter<'_> {
    fn take(&mut self, slot: Slot) -> Option<u32> {
        match self.rest.first() {
            Some(m) if m.slot == slot => {
                self.rest = &self.rest[1..];
                Some(m.id)
            }
            _ => None,
        }
    }
}

/// `TransactionInfo` (`"tx"` of every tx record of the transaction).
pub(crate) fn write_info(out: &mut Vec<u8>, info: &TransactionInfo) {
    out.extend_from_slice(b"{\"xid\":");
    write_str(out, &info.xid);
    out.extend_from_slice(b",\"commit_scn\":");
    write_u64(out, info.commit_scn);
    out.extend_from_slice(b",\"commit_ts\":\"");
    info.commit_ts.write_pydantic(out);
    out.extend_from_slice(b"\",\"thread\":");
    write_u64(out, info.thread);
    out.extend_from_slice(b",\"commit_rba\":");
    write_str(out, &info.commit_rba);
    if let Some(scn) = info.start_scn {
        out.extend_from_slice(b",\"start_scn\":");
        write_u64(out, scn);
    }
    out.extend_from_slice(b",\"changes_total\":");
    write_u64(out, info.changes_total);
    out.extend_from_slice(b",\"schemas\":[");
    for (i, schema) in info.schemas.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, schema);
    }
    out.extend_from_slice(b"]}");
}

/// The envelope of a tx record up to its first change (`"changes":[`).
pub(crate) fn write_tx_head(
    out: &mut Vec<u8>,
    schema: &str,
    info_json: &[u8],
    total: u64,
    chunk: u64,
    last: bool,
) {
    out.extend_from_slice(b"{\"v\":");
    write_u64(out, SCHEMA_VERSION);
    out.extend_from_slice(b",\"kind\":\"tx\",\"schema\":");
    write_str(out, schema);
    out.extend_from_slice(b",\"tx\":");
    out.extend_from_slice(info_json);
    out.extend_from_slice(b",\"changes_in_schema\":");
    write_u64(out, total);
    out.extend_from_slice(b",\"chunk\":");
    write_u64(out, chunk);
    out.extend_from_slice(b",\"last\":");
    write_bool(out, last);
    out.extend_from_slice(b",\"changes\":[");
}

/// The end of a tx record.
pub(crate) const TX_TAIL: &[u8] = b"]}";

/// A `value_chunk` record's body.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_chunk(
    out: &mut Vec<u8>,
    schema: &str,
    xid: &str,
    commit_scn: u64,
    id: &str,
    seq: u64,
    last: bool,
    data: &str,
) {
    out.extend_from_slice(b"{\"v\":");
    write_u64(out, SCHEMA_VERSION);
    out.extend_from_slice(b",\"kind\":\"value_chunk\",\"schema\":");
    write_str(out, schema);
    out.extend_from_slice(b",\"xid\":");
    write_str(out, xid);
    out.extend_from_slice(b",\"commit_scn\":");
    write_u64(out, commit_scn);
    out.extend_from_slice(b",\"id\":");
    write_str(out, id);
    out.extend_from_slice(b",\"seq\":");
    write_u64(out, seq);
    out.extend_from_slice(b",\"last\":");
    write_bool(out, last);
    out.extend_from_slice(b",\"data\":");
    write_str(out, data);
    out.push(b'}');
}

/// One `RowChange`, with the values in `moved` (sorted by slot) written as references
/// to `cuts`.
pub(crate) fn write_change(
    out: &mut Vec<u8>,
    change: &RowChange<'_>,
    moved: &[Moved],
    cuts: &[Cut<'_>],
) {
    let shape = &*change.table;
    out.extend_from_slice(b"{\"op\":\"");
    out.extend_from_slice(change.op.as_str().as_bytes());
    out.push(b'"');
    out.extend_from_slice(&shape.names_json);
    if let Some(obj) = change.obj {
        out.extend_from_slice(b",\"obj\":");
        write_u64(out, obj);
    }
    out.extend_from_slice(&shape.pk_json);
    let mut refs = MovedIter { rest: moved };
    if let Some(image) = &change.before {
        out.extend_from_slice(b",\"before\":");
        write_image(out, change, image, BEFORE, &mut refs, cuts);
    }
    if let Some(image) = &change.after {
        out.extend_from_slice(b",\"after\":");
        write_image(out, change, image, AFTER, &mut refs, cuts);
    }
    out.extend_from_slice(b",\"columns\":{");
    let mut first = true;
    for &id in &change.columns {
        if let Some(column) = shape.column(id) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&column.entry_json);
        }
    }
    out.push(b'}');
    if let Some(ddl) = &change.ddl {
        out.extend_from_slice(b",\"ddl\":");
        write_str(out, ddl);
    }
    if let Some(command) = change.ddl_command {
        out.extend_from_slice(format!(",\"ddl_command\":{command}").as_bytes());
    }
    if let Some(position) = &change.position {
        out.extend_from_slice(b",\"position\":");
        write_position(out, position);
    }
    if let Some(row_id) = &change.row_id {
        out.extend_from_slice(b",\"row_id\":");
        match row_id {
            RowId::Parts {
                data_obj,
                bdba,
                slot,
            } => write_str(out, &RowId::text_of(*data_obj, *bdba, *slot)),
            RowId::Text(text) => write_str(out, text),
        }
    }
    if let Some(reason) = &change.undecoded {
        out.extend_from_slice(b",\"undecoded\":");
        write_str(out, reason);
    }
    out.push(b'}');
}

fn write_image(
    out: &mut Vec<u8>,
    change: &RowChange<'_>,
    image: &Image<'_>,
    side: u8,
    refs: &mut MovedIter<'_>,
    cuts: &[Cut<'_>],
) {
    out.push(b'{');
    let mut first = true;
    for (index, entry) in image.iter().enumerate() {
        // The transaction was checked: every entry names a column of its shape.
        let Some(column) = change.table.column(entry.column) else {
            continue;
        };
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(&column.name_json);
        out.push(b':');
        let at = u32::try_from(index).unwrap_or(u32::MAX);
        match refs.take(Slot {
            side,
            entry: at,
            write: WHOLE,
        }) {
            Some(id) => write_ref(out, cuts, id),
            None => match &entry.value {
                Value::LobWrites(lob) => write_lob_writes(out, lob, side, at, refs, cuts),
                value => write_value(out, value),
            },
        }
    }
    out.push(b'}');
}

/// A column value as `model_dump(mode="json")` gives it (no reference inside).
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Text(text) => write_str(out, text),
        Value::InvalidText(v) => {
            out.extend_from_slice(b"{\"kind\":\"invalid_text\",\"hex\":");
            write_str(out, &v.hex);
            out.extend_from_slice(b",\"charset\":");
            write_str(out, &v.charset);
            out.push(b'}');
        }
        Value::Unsupported(v) => {
            out.extend_from_slice(b"{\"kind\":\"unsupported\",\"oracle_type\":");
            write_str(out, &v.oracle_type);
            if let Some(hex) = &v.hex {
                out.extend_from_slice(b",\"hex\":");
                write_str(out, hex);
            }
            out.push(b'}');
        }
        Value::NotLogged(v) => {
            out.extend_from_slice(b"{\"kind\":\"not_logged\",\"oracle_type\":");
            write_str(out, &v.oracle_type);
            out.extend_from_slice(b",\"reason\":");
            write_str(out, &v.reason);
            out.push(b'}');
        }
        Value::LobWrites(lob) => {
            write_lob_writes(out, lob, 0, 0, &mut MovedIter { rest: &[] }, &[]);
        }
    }
}

fn write_lob_writes(
    out: &mut Vec<u8>,
    lob: &LobWrites<'_>,
    side: u8,
    entry: u32,
    refs: &mut MovedIter<'_>,
    cuts: &[Cut<'_>],
) {
    out.extend_from_slice(b"{\"kind\":\"lob_writes\",\"oracle_type\":");
    write_str(out, &lob.oracle_type);
    out.extend_from_slice(b",\"writes\":[");
    for (index, write) in lob.writes.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"offset\":");
        write_u64(out, write.offset);
        out.extend_from_slice(b",\"data\":");
        let slot = Slot {
            side,
            entry,
            write: u32::try_from(index).unwrap_or(WHOLE),
        };
        match refs.take(slot) {
            Some(id) => write_ref(out, cuts, id),
            None => write_str(out, &write.data),
        }
        out.push(b'}');
    }
    out.push(b']');
    if let Some(length) = lob.length {
        out.extend_from_slice(b",\"length\":");
        write_u64(out, length);
    }
    out.push(b'}');
}

/// A `ValueRef` to the cut `id`.
fn write_ref(out: &mut Vec<u8>, cuts: &[Cut<'_>], id: u32) {
    let Some(cut) = usize::try_from(id).ok().and_then(|i| cuts.get(i)) else {
        return; // references are only ever made by the cutter that holds them
    };
    out.extend_from_slice(b"{\"kind\":\"value_ref\",\"id\":\"");
    write_u64(out, u64::from(id));
    out.extend_from_slice(b"\",\"length\":");
    write_u64(out, cut.length() as u64);
    out.extend_from_slice(b",\"chunks\":");
    write_u64(out, cut.pieces.len() as u64);
    out.extend_from_slice(b",\"sha256\":\"");
    out.extend_from_slice(&cut.sha256);
    out.push(b'"');
    if cut.json_form {
        out.extend_from_slice(b",\"form\":\"json\"");
    }
    out.push(b'}');
}

fn write_position(out: &mut Vec<u8>, p: &SourcePosition) {
    out.extend_from_slice(b"{\"db_id\":");
    write_u64(out, p.db_id);
    out.extend_from_slice(b",\"db_name\":");
    write_str(out, &p.db_name);
    if let Some(con_id) = p.con_id {
        out.extend_from_slice(b",\"con_id\":");
        write_u64(out, con_id);
    }
    out.extend_from_slice(b",\"thread\":");
    write_u64(out, p.thread);
    out.extend_from_slice(b",\"sequence\":");
    write_u64(out, p.sequence);
    out.extend_from_slice(b",\"rba\":");
    match &p.rba {
        // str(Rba): hex digits only, nothing to escape
        RbaText::Rba(rba) => {
            let _ = write!(out, "\"{rba}\"");
        }
        RbaText::Text(text) => write_str(out, text),
    }
    out.extend_from_slice(b",\"scn\":");
    write_u64(out, p.scn);
    out.extend_from_slice(b",\"sub_scn\":");
    write_u64(out, p.sub_scn);
    out.push(b'}');
}
