//! The dictionary the transaction layer decodes with (`dictionary/model.py`), built once
//! from the Python `Dictionary`: tables by object number (partitions and an IOT's index
//! and overflow segments map to their table), their columns and types, the character
//! sets, and which tables the capture's filter keeps (Python evaluates the filter per
//! table and passes the answer).

use std::sync::Arc;

use crate::ops::IntMap;
use crate::values::text::Charset;
use crate::wire::model::{Column, ColumnInfo, TableShape};

/// `COL$.TYPE#` codes the transaction layer treats apart.
pub mod types {
    pub const VARCHAR2: u32 = 1;
    pub const NUMBER: u32 = 2;
    pub const LONG: u32 = 8;
    pub const DATE: u32 = 12;
    pub const RAW: u32 = 23;
    pub const LONG_RAW: u32 = 24;
    pub const ROWID: u32 = 69;
    pub const CHAR: u32 = 96;
    pub const BINARY_FLOAT: u32 = 100;
    pub const BINARY_DOUBLE: u32 = 101;
    pub const CLOB: u32 = 112;
    pub const BLOB: u32 = 113;
    pub const BFILE: u32 = 114;
    pub const TIMESTAMP: u32 = 180;
    pub const TIMESTAMP_TZ: u32 = 181;
    pub const INTERVAL_YM: u32 = 182;
    pub const INTERVAL_DS: u32 = 183;
    pub const TIMESTAMP_LTZ: u32 = 231;
    pub const BOOLEAN: u32 = 252;
}

/// One column of a table (`ColumnDef`), with its type name and `ColumnInfo` as Python
/// renders them.
#[derive(Debug, Clone)]
pub struct ColumnDef {
    pub seg_col: i64,
    pub name: String,
    pub type_code: u32,
    pub type_name: String,
    pub scale: Option<i64>,
    pub charset_form: u32,
    pub info: ColumnInfo,
}

impl ColumnDef {
    /// CLOB, NCLOB or BLOB (`is_lob_column`).
    pub fn is_lob(&self) -> bool {
        self.type_code == types::CLOB || self.type_code == types::BLOB
    }
}

/// What makes a table index-organized (`IotDef`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IotDef {
    pub index_obj: Option<u64>,
    pub overflow_obj: Option<u64>,
    pub key_compressed: bool,
}

/// A table (`TableDef`) and whether the capture keeps it.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// `TAB$.CLUCOLS`: a table stored in a cluster keeps its cluster key columns
    /// (SEGCOL# 1..n) apart from its rows; a row piece's column i is SEGCOL# n + 1 + i,
    /// and the key comes from the supplemental columns (0: not clustered).
    pub cluster_key_columns: i64,
    /// A SYS dictionary table (`Dictionary.system_tables`): its changes are always
    /// decoded and handed over as system changes, never published.
    pub system: bool,
    pub obj: u64,
    pub owner: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub pk: Vec<String>,
    pub data_obj: Option<u64>,
    pub iot: Option<IotDef>,
    /// The filter keeps it (`wanted(owner, name)`).
    pub captured: bool,
    /// Its changes' shape: every column of `columns`, in order (a column's id is its
    /// index there).
    pub shape: Arc<TableShape>,
    /// Segment column → index in `columns` (the first wins, as `column_by_seg`).
    pub by_seg: IntMap<i64, usize>,
    /// Indexes of the stored columns (`seg_col > 0`), in order.
    pub stored: Vec<usize>,
    /// Column names are distinct and none looks like `COL n`: a change's images can go
    /// by column ids alone.
    pub plain_names: bool,
}

impl TableDef {
    /// A table with its shape and lookups built.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        obj: u64,
        owner: String,
        name: String,
        columns: Vec<ColumnDef>,
        pk: Vec<String>,
        data_obj: Option<u64>,
        iot: Option<IotDef>,
        captured: bool,
    ) -> Self {
        let shape = Arc::new(TableShape::new(
            owner.clone(),
            name.clone(),
            pk.clone(),
            columns
                .iter()
                .map(|c| Column::new(c.name.clone(), c.info.clone()))
                .collect(),
        ));
        let mut by_seg = IntMap::default();
        let mut stored = Vec::new();
        for (i, column) in columns.iter().enumerate() {
            by_seg.entry(column.seg_col).or_insert(i);
            if column.seg_col > 0 {
                stored.push(i);
            }
        }
        let mut seen = std::collections::HashSet::new();
        let plain_names = columns
            .iter()
            .all(|c| !c.name.starts_with("COL ") && seen.insert(c.name.as_str()));
        TableDef {
            cluster_key_columns: 0,
            system: false,
            plain_names,
            obj,
            owner,
            name,
            columns,
            pk,
            data_obj,
            iot,
            captured,
            shape,
            by_seg,
            stored,
        }
    }
}

/// The dictionary (`Dictionary`).
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    pub db_id: u64,
    pub db_name: String,
    pub database_charset: String,
    pub national_charset: String,
    /// Object number → table (several numbers may share one table); the SYS dictionary
    /// tables among them are marked `system`.
    pub tables: IntMap<u64, Arc<TableDef>>,
    /// The highest object number the source had allocated (`Dictionary.max_obj`; 0:
    /// unknown): changes of an unknown object above it are kept for a later version.
    pub max_obj: u64,
}

/// The character sets' codecs, or the name without one (`UnknownCharset` when used).
#[derive(Debug, Clone)]
pub struct Codecs {
    pub database: std::result::Result<Charset, String>,
    pub national: std::result::Result<Charset, String>,
}

impl Codecs {
    /// The codecs of `dictionary`'s sets (names folded to upper case, as `charset()`).
    pub fn of(dictionary: &Dictionary) -> Self {
        let find =
            |name: &str| Charset::by_name(&name.to_uppercase()).ok_or_else(|| name.to_owned());
        Codecs {
            database: find(&dictionary.database_charset),
            national: find(&dictionary.national_charset),
        }
    }
}

impl Dictionary {
    /// The table an object number belongs to.
    pub fn table_for(&self, obj: u64) -> Option<&Arc<TableDef>> {
        self.tables.get(&obj)
    }

    /// An object this version does not know that may have been created after it
    /// (above `max_obj`): its changes are kept, not skipped.
    pub fn maybe_new(&self, obj: u64) -> bool {
        self.max_obj > 0 && obj > self.max_obj && !self.tables.contains_key(&obj)
    }
}
