//! One record's bytes in every layout: parse the header and scan the vectors, and read
//! a vector header at every slot. Errors are fine, panics are not.
#![no_main]

use drcapture_core::binary::Endian;
use drcapture_core::records::{Rba, parse_record};
use drcapture_core::vectors::{parse_vector_header, scan_vectors};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rba = Rba {
        sequence: 1,
        block: 2,
        offset: 16,
    };
    let (mut slots, mut lengths) = (Vec::new(), Vec::new());
    for endian in [Endian::Little, Endian::Big] {
        for wide in [false, true] {
            if let Ok(header) = parse_record(rba, data, endian, wide, &mut slots, &mut lengths) {
                assert!(header.length as usize <= data.len());
                for slot in &slots {
                    assert!(parse_vector_header(data, slot.offset as usize, endian, wide).is_ok());
                }
            }
            let end = data.len();
            let _ = scan_vectors(data, end / 3, end, endian, wide, &mut slots, &mut lengths);
        }
    }
});
