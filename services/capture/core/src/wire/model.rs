//! What capture publishes, as the serialiser takes it: the Rust side of
//! `drcommon.model` (`RowChange`, `TransactionInfo`, `SourcePosition`, the column values)
//! shaped so the row assembler can fill it without one allocation per name.
//!
//! * What every change of a table repeats — owner, table name, primary key, the column
//!   names with their `ColumnInfo` — lives once in a [`TableShape`] shared by `Arc`, its
//!   JSON fragments written once when the shape is built. A change names columns by
//!   their index in its shape ([`ColumnId`]), in its images and in its `columns` list.
//! * Text is a `Cow<'a, str>`: borrowed where the bytes already are text (a column
//!   value decoded in place, a constant type name), owned otherwise.
//! * The common values (`NULL`, text) are inline in [`Value`]; the value objects
//!   (`InvalidText`, `Unsupported`, `NotLogged`, `LobWrites`) are boxed, so a value is
//!   four words.
//! * An RBA and a ROWID may stay numbers ([`RbaText::Rba`], [`RowId::Parts`]) and are
//!   written as text (`str(Rba)`, `changes.rowid()`) only when serialised.
//!
//! Field order and which fields are left out when absent are the Python model's; the
//! encoders in [`super::encode`] rely on nothing else.

use std::borrow::Cow;
use std::sync::Arc;

use super::json::{Timestamp, write_bool, write_i64, write_str, write_u64};
use crate::records::Rba;
use crate::values::rowid::b64;

/// `drcommon.model.Operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Insert,
    Update,
    Delete,
    Ddl,
    /// Capture could not tell (only on changes marked `undecoded`).
    Unknown,
}

impl Operation {
    /// The wire text (`Operation.value`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Ddl => "ddl",
            Operation::Unknown => "unknown",
        }
    }

    /// The operation named `text` (the wire text).
    pub fn from_name(text: &str) -> Option<Self> {
        Some(match text {
            "insert" => Operation::Insert,
            "update" => Operation::Update,
            "delete" => Operation::Delete,
            "ddl" => Operation::Ddl,
            "unknown" => Operation::Unknown,
            _ => return None,
        })
    }
}

/// `drcommon.model.ColumnInfo`: the Oracle type of one column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnInfo {
    /// `type` (`VARCHAR2`, `NUMBER`, …).
    pub type_name: String,
    pub length: Option<u64>,
    pub precision: Option<u64>,
    /// Negative for `NUMBER(p, -s)`.
    pub scale: Option<i64>,
    pub nullable: bool,
    pub charset: Option<String>,
}

impl ColumnInfo {
    /// A column of type `type_name` with every optional fact absent, nullable.
    pub fn of_type(type_name: impl Into<String>) -> Self {
        ColumnInfo {
            type_name: type_name.into(),
            length: None,
            precision: None,
            scale: None,
            nullable: true,
            charset: None,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":");
        write_str(out, &self.type_name);
        if let Some(v) = self.length {
            out.extend_from_slice(b",\"length\":");
            write_u64(out, v);
        }
        if let Some(v) = self.precision {
            out.extend_from_slice(b",\"precision\":");
            write_u64(out, v);
        }
        if let Some(v) = self.scale {
            out.extend_from_slice(b",\"scale\":");
            write_i64(out, v);
        }
        out.extend_from_slice(b",\"nullable\":");
        write_bool(out, self.nullable);
        if let Some(v) = &self.charset {
            out.extend_from_slice(b",\"charset\":");
            write_str(out, v);
        }
        out.push(b'}');
    }
}

/// One column of a [`TableShape`]: its name and type, with their JSON written once.
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    info: ColumnInfo,
    /// `"NAME"` (an image's key).
    pub(crate) name_json: Box<[u8]>,
    /// `"NAME":{…}` (an entry of a change's `columns`).
    pub(crate) entry_json: Box<[u8]>,
}

impl Column {
    /// A column named `name` of type `info`.
    pub fn new(name: impl Into<String>, info: ColumnInfo) -> Self {
        let name = name.into();
        let mut key = Vec::with_capacity(name.len() + 2);
        write_str(&mut key, &name);
        let mut entry = key.clone();
        entry.push(b':');
        info.write(&mut entry);
        Column {
            name,
            info,
            name_json: key.into(),
            entry_json: entry.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn info(&self) -> &ColumnInfo {
        &self.info
    }
}

/// A column of a change: its index in the change's [`TableShape`].
pub type ColumnId = u32;

/// What every change of one table repeats: owner (the schema, which names the topic),
/// table name, primary key and columns, with their JSON written once. Build one per
/// table (dictionary version) and share it by `Arc`. Changes of an object the
/// dictionary does not know (`UNKNOWN`.`OBJ# n`, columns `COL n` of type `UNKNOWN`)
/// get a shape of their own the same way.
#[derive(Debug, Clone)]
pub struct TableShape {
    owner: String,
    table: String,
    pk: Vec<String>,
    columns: Vec<Column>,
    /// `,"owner":…,"table":…`
    pub(crate) names_json: Box<[u8]>,
    /// `,"pk":[…]`
    pub(crate) pk_json: Box<[u8]>,
}

impl TableShape {
    /// The shape of `owner`.`table` with primary key `pk` and these columns.
    pub fn new(
        owner: impl Into<String>,
        table: impl Into<String>,
        pk: Vec<String>,
        columns: Vec<Column>,
    ) -> Self {
        let (owner, table) = (owner.into(), table.into());
        let mut names = Vec::with_capacity(owner.len() + table.len() + 20);
        names.extend_from_slice(b",\"owner\":");
        write_str(&mut names, &owner);
        names.extend_from_slice(b",\"table\":");
        write_str(&mut names, &table);
        let mut keys = Vec::new();
        keys.extend_from_slice(b",\"pk\":[");
        for (i, name) in pk.iter().enumerate() {
            if i > 0 {
                keys.push(b',');
            }
            write_str(&mut keys, name);
        }
        keys.push(b']');
        TableShape {
            owner,
            table,
            pk,
            columns,
            names_json: names.into(),
            pk_json: keys.into(),
        }
    }

    /// The schema: changes are grouped by it, one topic each.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn pk(&self) -> &[String] {
        &self.pk
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column with index `id` (`None` past the end).
    pub fn column(&self, id: ColumnId) -> Option<&Column> {
        self.columns.get(usize::try_from(id).ok()?)
    }
}

/// `drcommon.model.InvalidText`: bytes not valid in the column's character set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidText<'a> {
    pub hex: Cow<'a, str>,
    pub charset: Cow<'a, str>,
}

/// `drcommon.model.Unsupported`: a type capture does not decode yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported<'a> {
    pub oracle_type: Cow<'a, str>,
    pub hex: Option<Cow<'a, str>>,
}

/// `drcommon.model.NotLogged`: a value the redo does not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLogged<'a> {
    pub oracle_type: Cow<'a, str>,
    pub reason: Cow<'a, str>,
}

/// `drcommon.model.LobWrite`: `data` written at `offset` (characters for CLOB/NCLOB,
/// bytes for BLOB, whose data is upper-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobWrite<'a> {
    pub offset: u64,
    pub data: Cow<'a, str>,
}

/// `drcommon.model.LobWrites`: a LOB changed in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LobWrites<'a> {
    pub oracle_type: Cow<'a, str>,
    pub writes: Vec<LobWrite<'a>>,
    pub length: Option<u64>,
}

/// A column value (`drcommon.model.ColumnValue`). Every scalar type travels as text
/// (see the Python model's docstring for each type's form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `NULL` (`None`; kept in images, written `null`).
    Null,
    Text(Cow<'a, str>),
    InvalidText(Box<InvalidText<'a>>),
    Unsupported(Box<Unsupported<'a>>),
    NotLogged(Box<NotLogged<'a>>),
    LobWrites(Box<LobWrites<'a>>),
}

/// One column of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub column: ColumnId,
    pub value: Value<'a>,
}

/// A row image (`before` or `after`): columns in the order the Python dict has them.
pub type Image<'a> = Vec<Entry<'a>>;

/// An RBA as a change's position carries it: the numbers (written as `str(Rba)`,
/// `0x00000f.00000244.0168`) or text as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RbaText {
    Rba(Rba),
    Text(Box<str>),
}

/// `drcommon.model.SourcePosition`: where a change was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    pub db_id: u64,
    /// Shared by every change of a stream.
    pub db_name: Arc<str>,
    pub con_id: Option<u64>,
    pub thread: u64,
    pub sequence: u64,
    pub rba: RbaText,
    pub scn: u64,
    pub sub_scn: u64,
}

/// A change's ROWID: the numbers it is made of (written as the 18 base-64 characters of
/// `drcapture.redo.txn.changes.rowid`) or text as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowId<'a> {
    Parts { data_obj: u32, bdba: u32, slot: u16 },
    Text(Cow<'a, str>),
}

impl RowId<'_> {
    /// The text of a ROWID made of `data_obj`, `bdba` (relative file and block) and
    /// `slot`.
    pub fn text_of(data_obj: u32, bdba: u32, slot: u16) -> String {
        let mut out = String::with_capacity(18);
        b64(u64::from(data_obj), 6, &mut out);
        b64(u64::from(bdba >> 22), 3, &mut out);
        b64(u64::from(bdba & 0x3F_FFFF), 6, &mut out);
        b64(u64::from(slot), 3, &mut out);
        out
    }
}

/// `drcommon.model.RowChange`: one row change (or DDL statement) of a committed
/// transaction. `columns` lists the change's `columns` entries, in order; an image
/// may name a column that `columns` does not list (the Python model allows it).
#[derive(Debug, Clone)]
pub struct RowChange<'a> {
    pub op: Operation,
    pub table: Arc<TableShape>,
    pub obj: Option<u64>,
    pub before: Option<Image<'a>>,
    pub after: Option<Image<'a>>,
    pub columns: Vec<ColumnId>,
    pub ddl: Option<Cow<'a, str>>,
    /// A DDL's Oracle command number (`drcommon.sqlcommand`).
    pub ddl_command: Option<u16>,
    pub position: Option<SourcePosition>,
    pub row_id: Option<RowId<'a>>,
    pub undecoded: Option<Cow<'a, str>>,
}

impl<'a> RowChange<'a> {
    /// A change of `op` on `table` with nothing else set.
    pub fn new(op: Operation, table: Arc<TableShape>) -> Self {
        RowChange {
            op,
            table,
            obj: None,
            before: None,
            after: None,
            columns: Vec::new(),
            ddl: None,
            ddl_command: None,
            position: None,
            row_id: None,
            undecoded: None,
        }
    }

    /// The schema it belongs to (its table's owner).
    pub fn owner(&self) -> &str {
        self.table.owner()
    }
}

/// `drcommon.model.TransactionInfo`: the Oracle transaction a change belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionInfo {
    pub xid: String,
    pub commit_scn: u64,
    pub commit_ts: Timestamp,
    pub thread: u64,
    pub commit_rba: String,
    pub start_scn: Option<u64>,
    pub changes_total: u64,
    pub schemas: Vec<String>,
}

/// A committed transaction with its row changes in redo order
/// (`drcapture.publish.CommittedTransaction`).
#[derive(Debug, Clone)]
pub struct Transaction<'a> {
    pub info: TransactionInfo,
    pub changes: Vec<RowChange<'a>>,
}
