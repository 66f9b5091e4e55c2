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
