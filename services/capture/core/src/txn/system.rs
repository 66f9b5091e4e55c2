//! Changes of the SYS dictionary tables (`OBJ$`, `TAB$`, `COL$` …) as the pipeline takes
//! them to keep the dictionary current (`dictionary.model.SystemChange`): the table's
//! name, the operation, the ROWID and the values by column name as text. They are never
//! published.
//!
//! Most of those tables live in clusters (`C_OBJ#` holds `TAB$`, `COL$`, `IND$` …): a
//! member row stores only the columns after the cluster key (`TAB$.CLUCOLS` = n), its
//! column i being the table's SEGCOL# n + 1 + i, and the key (SEGCOL# 1..n) travels as
//! supplemental columns of the undo, numbered by SEGCOL# (docs/REDO_FORMAT.md,
//! "Clustered rows of the dictionary tables").

use super::changes::{Context, decode_column};
use super::dict::TableDef;
use super::rows::{LogicalRow, Val};
use crate::error::{Error, Result, hex_upper};
use crate::ops::kdo::{FB_FIRST, FB_LAST, FB_NEXT, FB_PREV};
use crate::wire::model::{Operation, RowId, Value};

use super::piece::PieceKind;

/// One committed row change of a SYS dictionary table (`SystemChange`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemChange {
    /// The table's name (`TAB$`).
    pub table: String,
    /// Insert, update or delete.
    pub op: Operation,
    /// The row's ROWID as Oracle prints it (the cluster's data object for a member row).
    pub rowid: String,
    /// Values by column name, as text (`None`: NULL), in SEGCOL# order: the after image
    /// of an insert or update (cluster key included), what the redo holds of a deleted
    /// row.
    pub values: Vec<(String, Option<String>)>,
}

fn rowid_of(row: &LogicalRow<'_>) -> String {
    match row.row {
        Some((bdba, slot)) if row.data_obj != 0 => {
            RowId::text_of(row.data_obj as u32, bdba as u32, slot as u16)
        }
        _ => String::new(),
    }
}

fn qualified(table: &TableDef) -> String {
    format!("{}.{}", table.owner, table.name)
}

/// An insert or update of a clustered row must carry its cluster key (SEGCOL# 1..n) in
/// the after image: the row itself does not hold it, and a key is never guessed.
pub fn check_cluster_key(row: &LogicalRow<'_>, table: &TableDef) -> Result<()> {
    let n = table.cluster_key_columns;
    if n <= 0 || !matches!(row.op, Operation::Insert | Operation::Update) {
        return Ok(());
    }
    let image = row.after.as_deref().unwrap_or(&[]);
    for seg in 1..=n {
        if image.iter().any(|(c, _)| *c == seg) {
            continue;
        }
        let column = table.by_seg.get(&seg).map_or_else(
            || format!("SEGCOL# {seg}"),
            |&i| table.columns[i].name.clone(),
        );
        return Err(Error::undecodable(
            "a change of a clustered row without its cluster key column: the row does not \
             hold the key, and the redo carries no supplemental column for it (is \
             supplemental logging on?)",
        )
        .at("table", qualified(table))
        .at("rowid", rowid_of(row))
        .at("scn", row.scn)
        .at("rba", row.rba.to_string())
        .at("column", column)
        .at("op", row.op.as_str()));
    }
    Ok(())
}

fn refuse(row: &LogicalRow<'_>, table: &TableDef, message: String) -> Error {
    Error::undecodable(message)
        .at("table", qualified(table))
        .at("rowid", rowid_of(row))
        .at("scn", row.scn)
        .at("rba", row.rba.to_string())
        .at("op", row.op.as_str())
}

/// A row change made of more than one row piece (a chained or migrated row): not
/// expected of the dictionary tables, refused rather than half-read.
fn split_piece(row: &LogicalRow<'_>) -> bool {
    const WHOLE: u8 = FB_FIRST | FB_LAST;
    row.pieces.iter().any(|p| {
        p.kind == PieceKind::Row
            && p.fb != 0
            && (p.fb & WHOLE != WHOLE || p.fb & (FB_PREV | FB_NEXT) != 0)
    })
}

fn text_of(raw: &[u8], table: &TableDef, index: usize, ctx: &Context) -> Result<String> {
    let column = &table.columns[index];
    Ok(match decode_column(raw, column, ctx)? {
        Value::Text(text) => text.into_owned(),
        _ => hex_upper(raw),
    })
}

/// The system change `row` of the dictionary table `table` makes.
pub fn system_change(
    row: &LogicalRow<'_>,
    table: &TableDef,
    ctx: &Context,
) -> Result<SystemChange> {
    if let Some(why) = &row.undecoded {
        return Err(refuse(
            row,
            table,
            format!("cannot decode a change of a dictionary table: {why}"),
        ));
    }
    if split_piece(row) {
        return Err(refuse(
            row,
            table,
            "a dictionary table's row in more than one row piece (chained or migrated) is \
             not decoded"
                .into(),
        ));
    }
    check_cluster_key(row, table)?;
    let image = match row.op {
        Operation::Delete => row.before.as_deref(),
        _ => row.after.as_deref(),
    };
    let mut sorted: Vec<_> = image.unwrap_or(&[]).iter().collect();
    sorted.sort_by_key(|(c, _)| *c);
    let mut values = Vec::with_capacity(sorted.len());
    for (col, value) in sorted {
        let index = table.by_seg.get(col).copied();
        let name = index.map_or_else(|| format!("COL {col}"), |i| table.columns[i].name.clone());
        let text = match value {
            Val::Null => None,
            Val::Bytes(b) => Some(match index {
                Some(i) => text_of(b, table, i, ctx)?,
                None => hex_upper(b),
            }),
            Val::NotInRedo(why) => {
                return Err(refuse(
                    row,
                    table,
                    format!("a dictionary table's column is not in the redo: {why}"),
                )
                .at("column", name));
            }
        };
        values.push((name, text));
    }
    Ok(SystemChange {
        table: table.name.clone(),
        op: row.op,
        rowid: rowid_of(row),
        values,
    })
}
