//! Logical rows to the serialiser's `RowChange` (`redo/txn/changes.py`): names from the
//! dictionary, values through the value decoders. Objects the dictionary does not know
//! are named as LogMiner names them without one (`UNKNOWN`.`OBJ# n`, `COL n`, hex
//! values). IOT rows carry no ROWID and must carry their primary key in each image.
//! LOB columns take their values from the transaction's [`LobAssembly`].

use std::borrow::Cow;
use std::sync::Arc;

use super::dict::{Codecs, ColumnDef, TableDef, types};
use super::lobs::{LobAssembly, LobAt, LobValue, text_value, unknown_charset};
use super::piece::Col;
use super::rows::{Image as RawImage, LogicalRow, Val};
use crate::error::{Error, Result, hex_upper};
use crate::values::datetimes::TimeZones;
use crate::values::{binary, datetimes, ieee, intervals, number, rowid};
use crate::wire::model::{
    Column, ColumnId, ColumnInfo, Entry, Image, NotLogged, Operation, RbaText, RowChange, RowId,
    SourcePosition, TableShape, Unsupported, Value,
};

/// What every change of one thread's stream shares (`Context`).
#[derive(Debug, Clone)]
pub struct Context {
    pub db_id: u64,
    pub db_name: Arc<str>,
    pub thread: u64,
    pub codecs: Codecs,
    pub database_charset: String,
    pub zones: Arc<TimeZones>,
}

/// The owner of objects the dictionary does not know.
pub const UNKNOWN_OWNER: &str = "UNKNOWN";

fn text(f: impl FnOnce(&mut String) -> Result<()>) -> Result<Value<'static>> {
    let mut out = String::new();
    f(&mut out)?;
    Ok(Value::Text(Cow::Owned(out)))
}

/// One column's value from its stored bytes (`decode_column`).
pub fn decode_column(raw: &[u8], column: &ColumnDef, ctx: &Context) -> Result<Value<'static>> {
    match column.type_code {
        types::NUMBER => text(|o| number::decode_number(raw, o)),
        types::BINARY_FLOAT => text(|o| ieee::decode_binary_float(raw, o)),
        types::BINARY_DOUBLE => text(|o| ieee::decode_binary_double(raw, o)),
        types::VARCHAR2 | types::CHAR | types::LONG => {
            let codec = if column.charset_form == 2 {
                &ctx.codecs.national
            } else {
                &ctx.codecs.database
            };
            match codec {
                Ok(cs) => Ok(text_value(raw, *cs)),
                Err(name) => Err(unknown_charset(name)),
            }
        }
        types::DATE => text(|o| datetimes::decode_date(raw, o)),
        types::TIMESTAMP | types::TIMESTAMP_LTZ => {
            text(|o| datetimes::decode_timestamp(raw, column.scale, o))
        }
        types::TIMESTAMP_TZ => {
            text(|o| datetimes::decode_timestamp_tz(raw, column.scale, &ctx.zones, o))
        }
        types::INTERVAL_YM => text(|o| intervals::decode_interval_ym(raw, o)),
        types::INTERVAL_DS => text(|o| intervals::decode_interval_ds(raw, column.scale, o)),
        types::RAW | types::LONG_RAW => text(|o| {
            binary::decode_raw(raw, o);
            Ok(())
        }),
        types::ROWID => text(|o| rowid::decode_rowid(raw, o)),
        types::BOOLEAN => text(|o| binary::decode_boolean(raw, o)),
        _ => Ok(Value::Unsupported(Box::new(Unsupported {
            oracle_type: Cow::Owned(column.type_name.clone()),
            hex: Some(Cow::Owned(hex_upper(raw))),
        }))),
    }
}

fn hex_value(raw: &Val<'_>) -> Value<'static> {
    match raw {
        Val::Null => Value::Null,
        Val::Bytes(b) => Value::Text(Cow::Owned(hex_upper(b))),
        Val::NotInRedo(reason) => not_logged("UNKNOWN", reason),
    }
}

fn not_logged(type_name: &str, reason: &str) -> Value<'static> {
    Value::NotLogged(Box::new(NotLogged {
        oracle_type: Cow::Owned(type_name.to_owned()),
        reason: Cow::Owned(reason.to_owned()),
    }))
}

/// The columns of one change: the table's, then any `COL n` it does not know.
struct Names<'t> {
    table: Option<&'t TableDef>,
    /// Unknown column numbers, in order of first appearance (ids after the table's).
    extra: Vec<Col>,
    /// The change's `columns`, in order of first appearance.
    listed: Vec<ColumnId>,
}

impl Names<'_> {
    /// Names are distinct and no `COL n` is in play: ids stand for names.
    fn plain(&self) -> bool {
        self.extra.is_empty() && self.table.is_some_and(|t| t.plain_names)
    }

    fn base(&self) -> usize {
        self.table.map_or(0, |t| t.columns.len())
    }

    fn unknown(&mut self, col: Col) -> ColumnId {
        let at = match self.extra.iter().position(|c| *c == col) {
            Some(at) => at,
            None => {
                self.extra.push(col);
                self.extra.len() - 1
            }
        };
        (self.base() + at) as ColumnId
    }

    fn list(&mut self, id: ColumnId) {
        if !self.listed.contains(&id) {
            self.listed.push(id);
        }
    }

    fn name_of(&self, id: ColumnId) -> Cow<'_, str> {
        let id = id as usize;
        match self.table {
            Some(t) if id < t.columns.len() => Cow::Borrowed(&t.columns[id].name),
            _ => Cow::Owned(format!("COL {}", self.extra[id - self.base()])),
        }
    }
}

fn put(image: &mut Image<'static>, names: &Names<'_>, id: ColumnId, value: Value<'static>) {
    // an image is a dict by name: a name set again keeps its place (an image's columns
    // are distinct, so with distinct names that cannot happen)
    if names.plain() {
        image.push(Entry { column: id, value });
        return;
    }
    if let Some(slot) = image.iter_mut().find(|e| e.column == id) {
        slot.value = value;
        return;
    }
    let name = names.name_of(id);
    if let Some(slot) = image.iter_mut().find(|e| names.name_of(e.column) == name) {
        slot.value = value;
        return;
    }
    image.push(Entry { column: id, value });
}

fn has_name(image: &Image<'static>, names: &Names<'_>, name: &str) -> bool {
    image.iter().any(|e| names.name_of(e.column) == name)
}

/// `has_name` of a table column (its id when the names are plain).
fn has_column(image: &Image<'static>, names: &Names<'_>, id: ColumnId, name: &str) -> bool {
    if names.plain() {
        return image.iter().any(|e| e.column == id);
    }
    has_name(image, names, name)
}

fn sorted<'v, 'g>(values: &'v RawImage<'g>) -> Vec<&'v (Col, Val<'g>)> {
    let mut out: Vec<&(Col, Val<'g>)> = values.iter().collect();
    out.sort_by_key(|(c, _)| *c);
    out
}

fn unknown_image(values: Option<&RawImage<'_>>, names: &mut Names<'_>) -> Option<Image<'static>> {
    let values = values?;
    let mut image = Vec::with_capacity(values.len());
    for (col, raw) in sorted(values) {
        let id = names.unknown(*col);
        put(&mut image, names, id, hex_value(raw));
        names.list(id);
    }
    Some(image)
}

struct Side<'r, 'g> {
    row: &'r LogicalRow<'g>,
    table: &'r TableDef,
    after: bool,
}

fn known_image(
    values: Option<&RawImage<'_>>,
    side: &Side<'_, '_>,
    names: &mut Names<'_>,
    ctx: &Context,
    lobs: &mut LobAssembly,
) -> Result<Option<Image<'static>>> {
    let Some(values) = values else {
        return Ok(None);
    };
    let table = side.table;
    let mut image: Image<'static> = Vec::with_capacity(values.len());
    for (col, raw) in sorted(values) {
        let Some(&index) = table.by_seg.get(col) else {
            let id = names.unknown(*col);
            put(&mut image, names, id, hex_value(raw));
            names.list(id);
            continue;
        };
        let id = index as ColumnId;
        let column = &table.columns[index];
        names.list(id);
        let value = match raw {
            Val::NotInRedo(reason) => not_logged(&column.type_name, reason),
            Val::Bytes(b)
                if matches!(column.type_code, types::CLOB | types::BLOB | types::BFILE) =>
            {
                if !column.is_lob() {
                    Value::Unsupported(Box::new(Unsupported {
                        oracle_type: Cow::Owned(column.type_name.clone()),
                        hex: None,
                    }))
                } else {
                    let row = side.row;
                    let unchanged = side.after
                        && row.op == Operation::Update
                        && row.before.as_ref().is_some_and(|before| {
                            before
                                .iter()
                                .find(|(c, _)| *c == column.seg_col)
                                .is_some_and(|(_, v)| matches!(v, Val::Bytes(x) if x == b))
                        });
                    let at = LobAt {
                        row,
                        table,
                        column,
                        after: side.after,
                        unchanged,
                    };
                    match lobs.value(b, &at)? {
                        LobValue::Value(v) => v,
                        LobValue::Unchanged => continue,
                    }
                }
            }
            Val::Bytes(b) => decode_column(b, column, ctx)?,
            Val::Null => Value::Null,
        };
        put(&mut image, names, id, value);
    }
    Ok(Some(image))
}

fn add_missing(
    image: Option<&mut Image<'static>>,
    table: &TableDef,
    names: &mut Names<'_>,
    value: impl Fn(&ColumnDef) -> Value<'static>,
) {
    let Some(image) = image else { return };
    for &index in &table.stored {
        let column = &table.columns[index];
        let id = index as ColumnId;
        if !has_column(image, names, id, &column.name) {
            image.push(Entry {
                column: id,
                value: value(column),
            });
            names.list(id);
        }
    }
}

fn check_iot_key(
    row: &LogicalRow<'_>,
    table: &TableDef,
    sides: [(&str, Option<&Image<'static>>); 2],
    names: &Names<'_>,
) -> Result<()> {
    for (side, image) in sides {
        let Some(image) = image else { continue };
        let missing = table.pk.iter().any(|name| !has_name(image, names, name));
        // (names: an IOT's key is checked by name, as Python does)
        if missing || table.pk.is_empty() {
            let mut found: Vec<String> = image
                .iter()
                .map(|e| names.name_of(e.column).into_owned())
                .collect();
            found.sort();
            let expected = if table.pk.is_empty() {
                "a primary key".to_owned()
            } else {
                table.pk.join(",")
            };
            return Err(Error::undecodable("IOT change without its primary key")
                .at("table", format!("{}.{}", table.owner, table.name))
                .at("op", row.op.as_str())
                .at("rba", row.rba.to_string())
                .at("scn", row.scn)
                .at("field", side)
                .at("expected", expected)
                .at("found", found.join(",")));
        }
    }
    Ok(())
}

/// `OBJ# 72726`.
pub fn unknown_table_name(obj: u64) -> String {
    format!("OBJ# {obj}")
}

/// The shape of a change: the table's, or one made for it (unknown objects, unknown
/// columns of a known table).
fn shape_of(names: &Names<'_>, obj: u64) -> Arc<TableShape> {
    match names.table {
        Some(t) if names.extra.is_empty() => Arc::clone(&t.shape),
        Some(t) => {
            let mut columns: Vec<Column> = t.shape.columns().to_vec();
            columns.extend(
                names
                    .extra
                    .iter()
                    .map(|c| Column::new(format!("COL {c}"), ColumnInfo::of_type("UNKNOWN"))),
            );
            Arc::new(TableShape::new(
                t.owner.clone(),
                t.name.clone(),
                t.pk.clone(),
                columns,
            ))
        }
        None => Arc::new(TableShape::new(
            UNKNOWN_OWNER,
            unknown_table_name(obj),
            Vec::new(),
            names
                .extra
                .iter()
                .map(|c| Column::new(format!("COL {c}"), ColumnInfo::of_type("UNKNOWN")))
                .collect(),
        )),
    }
}

/// Name and decode one logical row (`to_row_change`; `table` None: an object without
/// dictionary).
pub fn to_row_change(
    row: &LogicalRow<'_>,
    table: Option<&TableDef>,
    ctx: &Context,
    lobs: &mut LobAssembly,
) -> Result<RowChange<'static>> {
    let mut names = Names {
        table,
        extra: Vec::new(),
        listed: Vec::new(),
    };
    let (mut before, mut after);
    match table {
        None => {
            before = unknown_image(row.before.as_ref(), &mut names);
            after = unknown_image(row.after.as_ref(), &mut names);
        }
        Some(t) => {
            let side = |after| Side {
                row,
                table: t,
                after,
            };
            before = known_image(row.before.as_ref(), &side(false), &mut names, ctx, lobs)?;
            after = known_image(row.after.as_ref(), &side(true), &mut names, ctx, lobs)?;
            if let Some(rest) = &row.before_rest {
                add_missing(before.as_mut(), t, &mut names, |c| {
                    not_logged(&c.type_name, rest)
                });
            }
            if let Some(rest) = &row.after_rest {
                add_missing(after.as_mut(), t, &mut names, |c| {
                    not_logged(&c.type_name, rest)
                });
            }
            if row.op == Operation::Insert {
                add_missing(after.as_mut(), t, &mut names, |_| Value::Null);
            } else if row.op == Operation::Delete {
                add_missing(before.as_mut(), t, &mut names, |_| Value::Null);
            }
        }
    }
    let mut row_id = match row.row {
        Some((bdba, slot)) if row.data_obj != 0 => Some(RowId::Parts {
            data_obj: row.data_obj as u32,
            bdba: bdba as u32,
            slot: slot as u16,
        }),
        _ => None,
    };
    if let Some(t) = table
        && t.iot.is_some()
    {
        check_iot_key(
            row,
            t,
            [("before", before.as_ref()), ("after", after.as_ref())],
            &names,
        )?;
        row_id = None;
    }
    let shape = shape_of(&names, row.obj);
    let mut change = RowChange::new(row.op, shape);
    change.obj = (row.obj != 0).then_some(row.obj);
    change.before = before;
    change.after = after;
    change.columns = names.listed;
    change.ddl = row.ddl.map(|d| Cow::Owned(d.to_owned()));
    change.ddl_command = row.ddl_command;
    change.position = Some(SourcePosition {
        db_id: ctx.db_id,
        db_name: Arc::clone(&ctx.db_name),
        con_id: row.con_id,
        thread: ctx.thread,
        sequence: u64::from(row.rba.sequence),
        rba: RbaText::Rba(row.rba),
        scn: row.scn,
        sub_scn: row.sub_scn,
    });
    change.row_id = row_id;
    change.undecoded = row.undecoded.clone().map(Cow::Owned);
    Ok(change)
}

/// A change standing for LOB redo of a captured table no row change carries, or for an
/// error (`_marked_lob_change`).
pub fn marked_change(
    obj: Option<u64>,
    table: Option<&TableDef>,
    reason: String,
) -> RowChange<'static> {
    let shape = match table {
        Some(t) => Arc::new(TableShape::new(
            t.owner.clone(),
            t.name.clone(),
            Vec::new(),
            Vec::new(),
        )),
        None => Arc::new(TableShape::new(
            UNKNOWN_OWNER,
            unknown_table_name(obj.unwrap_or(0)),
            Vec::new(),
            Vec::new(),
        )),
    };
    let mut change = RowChange::new(Operation::Unknown, shape);
    change.obj = obj;
    change.undecoded = Some(Cow::Owned(reason));
    change
}
