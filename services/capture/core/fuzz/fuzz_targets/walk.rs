//! A whole redo file from the fuzzer's bytes: open it (online or archived, checksums
//! checked or not, from a resume state the first bytes choose) and walk every record.
//! Any outcome is fine except a panic, a hang or a read out of bounds.
#![no_main]

use std::sync::Arc;

use drcapture_core::blocks::{BlockStatus, BytesSource, RedoFile};
use drcapture_core::records::{ReadState, RecordWalker};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let Some((resume, data)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let source = BytesSource::new(Arc::from(data), "fuzz".to_owned());
    let Ok(file) = RedoFile::open(Box::new(source), flags & 1 != 0, flags & 2 != 0) else {
        return;
    };
    let state = if flags & 4 != 0 {
        ReadState {
            next_block: u64::from(resume[0]) + u64::from(resume[1]) * 256,
            resume_offset: u64::from(u16::from_le_bytes([resume[2], resume[3]])),
            stopped: BlockStatus::Ok,
        }
    } else {
        ReadState::default()
    };
    let mut walker = RecordWalker::new(Arc::new(file), state);
    let mut seen = 0usize;
    while let Ok(Some(record)) = walker.next_record() {
        // Touch what a consumer reads: every slot's field lengths inside the record.
        for slot in record.slots {
            let lengths = slot.lengths(record.lengths);
            assert!((slot.end as usize) <= record.data.len());
            assert_eq!(lengths.len(), slot.field_count as usize);
        }
        seen += 1;
        assert!(seen <= data.len()); // every record takes at least one byte of the file
    }
});
