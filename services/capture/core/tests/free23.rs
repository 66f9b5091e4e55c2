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
