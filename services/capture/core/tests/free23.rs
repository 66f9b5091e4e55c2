//! The walk over the real Oracle 23 Free archived logs (shared/fixtures, beside the
//! repository): the counts the Python reader gives for them. Skipped where the fixtures
//! are not there; the differential tests in tests/unit/capture/native compare
//! everything else record by record.

use std::path::PathBuf;
use std::sync::Arc;

use drcapture_core::blocks::{FileSource, RedoFile};
use drcapture_core::records::{ReadState, RecordWalker, scan};

fn fixture(name: &str) -> Option<PathBuf> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = here
        .join("../../../../shared/fixtures/redo/free23-insert")
        .join(name);
    path.exists().then_some(path)
}

#[test]
fn both_logs_walk_to_the_end() {
    let logs = [
        ("arch1_15_1224959854.dbf", 15, 1154, 169_964, 764),
        ("arch1_16_1224959854.dbf", 16, 7, 3448, 12),
    ];
    for (name, sequence, records, bytes, vectors) in logs {
        let Some(path) = fixture(name) else { return };
        let source = FileSource::new(path.clone(), path.display().to_string());
        let file = RedoFile::open(Box::new(source), false, true).expect("opens");
        assert_eq!(file.header.sequence, sequence);
        assert_eq!(file.header.db_name, "FREE");
        assert!(file.header.wide_vectors());
        let mut walker = RecordWalker::new(Arc::new(file), ReadState::default());
        let totals = scan(&mut walker).expect("walks");
        assert_eq!(
            (totals.records, totals.bytes, totals.vectors),
            (records, bytes, vectors)
        );
        assert_eq!(
            walker.state().stopped,
            drcapture_core::blocks::BlockStatus::Ok
        );
    }
}

/// Every record's vectors decoded and triaged (nothing captured): the counts the Python
/// dispatcher and `quick_effects` give for the same logs.
#[test]
fn every_vector_decodes_and_every_record_triages() {
    use drcapture_core::ops::dispatch::{OpCounters, RecordDecoder, RecordRef};
    use drcapture_core::txn::triage::{SkipMap, quick_effects};

    let logs = [
        ("arch1_15_1224959854.dbf", (114, 22, 628), (1154, 43)),
        ("arch1_16_1224959854.dbf", (7, 3, 2), (7, 4)),
    ];
    for (name, counts, triaged) in logs {
        let Some(path) = fixture(name) else { return };
        let source = FileSource::new(path.clone(), path.display().to_string());
        let file = Arc::new(RedoFile::open(Box::new(source), false, true).expect("opens"));
        let (endian, wide) = (file.endian(), file.header.wide_vectors());
        let mut walker = RecordWalker::new(file, ReadState::default());
        let mut decoder = RecordDecoder::new();
        let mut counters = OpCounters::default();
        let skip = SkipMap {
            default: Some("skip".into()),
            ..SkipMap::default()
        };
        let (mut quick, mut dropped) = (0, 0);
        while let Some(view) = walker.next_record().expect("walks") {
            let rec = RecordRef::of(&view, endian, wide);
            decoder.decode(&rec, Some(&mut counters)).expect("decodes");
            if let Some(effects) = quick_effects(&rec, &skip) {
                quick += 1;
                dropped += effects.dropped.len();
            }
        }
        let sum = |m: &drcapture_core::ops::IntMap<(u8, u8), u64>| m.values().sum::<u64>();
        let found = (
            sum(&counters.decoded),
            sum(&counters.skipped),
            sum(&counters.unknown),
        );
        assert_eq!(found, counts);
        assert_eq!((quick, dropped), triaged);
    }
}

/// Transaction 9.24.598 updates TAB$ (object 4, a member of the cluster C_OBJ#, data
/// object 2, CLUCOLS 1) when the first insert creates TEST_CDC's segment: its row
/// columns are SEGCOL# 2.., its key OBJ# comes from the supplemental columns, and the
/// change is handed over as a system change, ending the read (docs/REDO_FORMAT.md,
/// "Clustered rows of the dictionary tables").
#[test]
fn the_tab_update_is_a_system_change() {
    use drcapture_core::txn::assembler::{Assembler, AssemblerOptions, OnUndecodable};
    use drcapture_core::txn::dict::{ColumnDef, Dictionary, TableDef};
    use drcapture_core::txn::store::MemoryStore;
    use drcapture_core::txn::thread::{OnDirectLoad, ThreadCore};
    use drcapture_core::values::datetimes::TimeZones;
    use drcapture_core::wire::model::{ColumnInfo, Operation};

    let Some(path) = fixture("arch1_15_1224959854.dbf") else {
        return;
    };
    let names = ["OBJ#", "DATAOBJ#", "TS#", "FILE#", "BLOCK#"];
    let columns = (1..)
        .zip(names)
        .map(|(seg_col, name)| ColumnDef {
            seg_col,
            name: name.into(),
            type_code: 2,
            type_name: "NUMBER".into(),
            scale: None,
            charset_form: 0,
            info: ColumnInfo::of_type("NUMBER"),
        })
        .collect();
    let mut tab = TableDef::new(
        4,
        "SYS".into(),
        "TAB$".into(),
        columns,
        Vec::new(),
        Some(2),
        None,
        false,
    );
    tab.cluster_key_columns = 1;
    tab.system = true;
    let mut dictionary = Dictionary {
        database_charset: "AL32UTF8".into(),
        national_charset: "AL16UTF16".into(),
        ..Dictionary::default()
    };
    dictionary.tables.insert(4, Arc::new(tab));
    let options = AssemblerOptions {
        thread: 1,
        db_id: 0,
        db_name: "TEST".into(),
        include_unknown: false,
        triage: true,
        on_undecodable: OnUndecodable::Stop,
    };
    let assembler = Assembler::new(
        Arc::new(dictionary),
        options,
        Box::new(MemoryStore::default()),
        Arc::new(TimeZones::default()),
    )
    .expect("an assembler");
    let mut core = ThreadCore::new(assembler, None, false, 0, OnDirectLoad::Stop);
    let source = FileSource::new(path.clone(), path.display().to_string());
    let file = RedoFile::open(Box::new(source), false, true).expect("opens");
    core.open(Arc::new(file), ReadState::default());
    let batch = core.read(u64::MAX);
    assert!(batch.error.is_none() && batch.system && !batch.ended);
    let commit = batch.commits.last().expect("a commit");
    assert_eq!(commit.commit_scn, 0x229a33);
    assert!(commit.changes.is_empty());
    let change = &commit.system[0];
    assert_eq!(
        (change.table.as_str(), change.op, change.rowid.as_str()),
        ("TAB$", Operation::Update, "AAAAACAAAAAAFQ+AAD")
    );
    let value = |name: &str| {
        change
            .values
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    };
    assert_eq!(value("OBJ#").as_deref(), Some("72726"));
    assert_eq!(value("DATAOBJ#").as_deref(), Some("72726"));
    assert_eq!(value("FILE#").as_deref(), Some("24"));
    assert_eq!(value("BLOCK#").as_deref(), Some("10"));
    // the read goes on from right after that commit, to the end
    let rest = core.read(u64::MAX);
    assert!(rest.error.is_none() && rest.ended && !rest.system);
}
