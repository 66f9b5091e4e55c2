//! The serialiser from the row assembler's side: a transaction built the way the core
//! will build it (one shared table shape, values borrowed from a buffer, the RBA and
//! ROWID as numbers) gives the records the Python publisher writes for the same
//! transaction (the expected bytes below are its output). The differential tests in
//! tests/unit/capture/native compare everything else against the Python publisher.

use std::borrow::Cow;
use std::sync::Arc;

use drcapture_core::records::Rba;
use drcapture_core::wire::json::Timestamp;
use drcapture_core::wire::model::{
    Column, ColumnInfo, Entry, NotLogged, Operation, RbaText, RowChange, RowId, SourcePosition,
    TableShape, Transaction, TransactionInfo, Value,
};
use drcapture_core::wire::records::{RecordKind, RecordLimits, transaction_records};

fn docs() -> Arc<TableShape> {
    let id = ColumnInfo {
        precision: Some(10),
        scale: Some(0),
        nullable: false,
        ..ColumnInfo::of_type("NUMBER")
    };
    let doc = ColumnInfo {
        charset: Some("AL32UTF8".into()),
        ..ColumnInfo::of_type("CLOB")
    };
    let note = ColumnInfo::of_type("VARCHAR2");
    Arc::new(TableShape::new(
        "HR",
        "DOCS",
        vec!["ID".into()],
        vec![
            Column::new("ID", id),
            Column::new("DOC", doc),
            Column::new("NOTE", note),
        ],
    ))
}

fn info() -> TransactionInfo {
    TransactionInfo {
        xid: "0x0005.001.00000042".into(),
        commit_scn: 4242,
        commit_ts: Timestamp::utc(2024, 5, 1, 0, 0, 0),
        thread: 1,
        commit_rba: "0x1.2.3".into(),
        start_scn: None,
        changes_total: 2,
        schemas: vec!["HR".into()],
    }
}

fn text(s: &str) -> Value<'_> {
    Value::Text(Cow::Borrowed(s))
}

const HEAD: &str = r#"{"v":1,"kind":"tx","schema":"HR","tx":{"xid":"0x0005.001.00000042","commit_scn":4242,"commit_ts":"2024-05-01T00:00:00Z","thread":1,"commit_rba":"0x1.2.3","changes_total":2,"schemas":["HR"]},"#;
const COLUMNS: &str = r#""columns":{"ID":{"type":"NUMBER","precision":10,"scale":0,"nullable":false},"DOC":{"type":"CLOB","nullable":true,"charset":"AL32UTF8"}}"#;

#[test]
fn a_small_transaction_is_one_record_as_python_writes_it() {
    let shape = docs();
    let buffer = String::from("1é\"x\n2"); // values borrowed from the decoder's buffer
    let mut insert = RowChange::new(Operation::Insert, Arc::clone(&shape));
    insert.obj = Some(72726);
    insert.after = Some(vec![
        Entry {
            column: 0,
            value: text(&buffer[..1]),
        },
        Entry {
            column: 1,
            value: text(&buffer[1..6]),
        },
        Entry {
            column: 2,
            value: Value::Null,
        },
    ]);
    insert.columns = vec![0, 1];
    insert.position = Some(SourcePosition {
        db_id: 1_234_567_890,
        db_name: Arc::from("FREE"),
        con_id: Some(3),
        thread: 1,
        sequence: 15,
        rba: RbaText::Rba(Rba {
            sequence: 15,
            block: 0x244,
            offset: 0x168,
        }),
        scn: 2_267_707,
        sub_scn: 0,
    });
    insert.row_id = Some(RowId::Parts {
        data_obj: 72726,
        bdba: (1 << 22) | 0x244,
        slot: 3,
    });
    let mut delete = RowChange::new(Operation::Delete, shape);
    delete.obj = Some(72726);
    delete.before = Some(vec![
        Entry {
            column: 0,
            value: text(&buffer[6..]),
        },
        Entry {
            column: 1,
            value: Value::NotLogged(Box::new(NotLogged {
                oracle_type: Cow::Borrowed("CLOB"),
                reason: Cow::Borrowed("not in redo"),
            })),
        },
    ]);
    delete.columns = vec![0, 1];
    let tx = Transaction {
        info: info(),
        changes: vec![insert, delete],
    };
    let out = transaction_records(&tx, 1000, &RecordLimits::default()).expect("records");
    assert_eq!(out.key, b"0x0005.001.00000042");
    assert_eq!(out.records.len(), 1);
    let record = &out.records[0];
    let want = format!(
        "{HEAD}\"changes_in_schema\":2,\"chunk\":0,\"last\":true,\"changes\":[\
         {{\"op\":\"insert\",\"owner\":\"HR\",\"table\":\"DOCS\",\"obj\":72726,\"pk\":[\"ID\"],\
         \"after\":{{\"ID\":\"1\",\"DOC\":\"é\\\"x\\n\",\"NOTE\":null}},{COLUMNS},\
         \"position\":{{\"db_id\":1234567890,\"db_name\":\"FREE\",\"con_id\":3,\"thread\":1,\
         \"sequence\":15,\"rba\":\"0x00000f.00000244.0168\",\"scn\":2267707,\"sub_scn\":0}},\
         \"row_id\":\"AAARwWAABAAAAJEAAD\"}},\
         {{\"op\":\"delete\",\"owner\":\"HR\",\"table\":\"DOCS\",\"obj\":72726,\"pk\":[\"ID\"],\
         \"before\":{{\"ID\":\"2\",\"DOC\":{{\"kind\":\"not_logged\",\"oracle_type\":\"CLOB\",\
         \"reason\":\"not in redo\"}}}},{COLUMNS}}}]}}"
    );
    assert_eq!(String::from_utf8_lossy(&record.value), want);
    assert_eq!((record.schema, record.kind), ("HR", RecordKind::Tx));
    let headers: Vec<(&str, &[u8])> = record
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_slice()))
        .collect();
    assert_eq!(
        headers,
        [
            ("v", &b"1"[..]),
            ("kind", b"tx"),
            ("commit_scn", b"4242"),
            ("xid", b"0x0005.001.00000042"),
            ("commit_ts", b"2024-05-01T00:00:00+00:00"),
            ("start", b"1"),
        ]
    );
}

#[test]
fn a_long_value_travels_in_chunks_before_its_record() {
    let doc = "汉".repeat(2000);
    let mut insert = RowChange::new(Operation::Insert, docs());
    insert.after = Some(vec![
        Entry {
            column: 0,
            value: text("3"),
        },
        Entry {
            column: 1,
            value: text(&doc),
        },
    ]);
    insert.columns = vec![0, 1];
    let tx = Transaction {
        info: info(),
        changes: vec![insert],
    };
    let limits = RecordLimits {
        max_value_bytes: 1024,
        max_record_bytes: 5120,
    };
    let out = transaction_records(&tx, 1000, &limits).expect("records");
    let kinds: Vec<RecordKind> = out.records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [[RecordKind::ValueChunk; 6].as_slice(), &[RecordKind::Tx]].concat()
    );
    let sizes: Vec<usize> = out.records.iter().map(|r| r.value.len()).collect();
    assert_eq!(sizes, [1151, 1151, 1151, 1151, 1151, 1012, 594]);
    let starts: Vec<(&str, &[u8])> = out
        .records
        .iter()
        .filter_map(|r| r.headers.last().map(|(k, v)| (*k, v.as_slice())))
        .collect();
    let mut want_starts = vec![("start", &b"0"[..]); 7];
    want_starts[0].1 = b"1";
    assert_eq!(starts, want_starts);
    let want = format!(
        "{HEAD}\"changes_in_schema\":1,\"chunk\":0,\"last\":true,\"changes\":[\
         {{\"op\":\"insert\",\"owner\":\"HR\",\"table\":\"DOCS\",\"pk\":[\"ID\"],\
         \"after\":{{\"ID\":\"3\",\"DOC\":{{\"kind\":\"value_ref\",\"id\":\"0\",\"length\":6000,\
         \"chunks\":6,\"sha256\":\"7bcc82d044f0d0e6e630756b93b796bfb6e0e96f9418aa4fc2fd9898087ce19c\"}}}},\
         {COLUMNS}}}]}}"
    );
    assert_eq!(String::from_utf8_lossy(&out.records[6].value), want);
}

#[test]
fn a_column_outside_its_shape_is_an_error_not_a_panic() {
    let mut change = RowChange::new(Operation::Insert, docs());
    change.after = Some(vec![Entry {
        column: 7,
        value: Value::Null,
    }]);
    let tx = Transaction {
        info: info(),
        changes: vec![change],
    };
    let err = transaction_records(&tx, 10, &RecordLimits::default()).expect_err("refused");
    assert_eq!(err.kind().name(), "ValueError");
}

#[test]
fn values_stay_four_words() {
    assert!(std::mem::size_of::<Value<'_>>() <= 32);
}
