//! The operation parsers and the triage on one record's bytes: the first byte picks the
//! layout (bit 0: big-endian, bit 1: 12.1+ vector headers); a record that parses is
//! decoded with counters, triaged under three skip maps, every vector goes through both
//! IOT leaf parsers, and the bytes through the compressed row parser and `image_values`.
//! Errors are fine, panics are not.
#![no_main]

use drcapture_core::binary::Endian;
use drcapture_core::ops::compressed::{image_values, parse_compressed_row};
use drcapture_core::ops::dispatch::{OpCounters, RecordDecoder, RecordRef};
use drcapture_core::ops::iot::{parse_leaf_op, parse_leaf_undo};
use drcapture_core::records::{Rba, parse_record};
use drcapture_core::txn::triage::{SkipMap, SkipReasons, quick_effects};
use libfuzzer_sys::fuzz_target;

/// Odd objects captured, even ones skipped.
struct ByParity;

impl SkipReasons for ByParity {
    fn skip_reason(&self, obj: u32) -> Option<&str> {
        (obj & 1 == 0).then_some("skipped_filtered")
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let endian = if pick & 1 == 0 {
        Endian::Little
    } else {
        Endian::Big
    };
    let wide = pick & 2 != 0;
    let rba = Rba {
        sequence: 1,
        block: 2,
        offset: 16,
    };
    let (mut slots, mut lengths) = (Vec::new(), Vec::new());
    if let Ok(header) = parse_record(rba, data, endian, wide, &mut slots, &mut lengths) {
        let rec = RecordRef {
            rba,
            scn: header.scn,
            data,
            slots: &slots,
            lengths: &lengths,
            endian,
            wide,
        };
        let mut decoder = RecordDecoder::new();
        let mut counters = OpCounters::default();
        let decoded = decoder.decode(&rec, Some(&mut counters));
        let counted: u64 = [&counters.decoded, &counters.skipped, &counters.unknown]
            .iter()
            .flat_map(|m| m.values())
            .sum();
        assert!(counted <= slots.len() as u64);
        if let Ok(ops) = &decoded {
            assert_eq!(ops.len(), slots.len());
            assert_eq!(counted, slots.len() as u64);
        }
        let nothing = SkipMap {
            default: Some("skipped_unknown_object".into()),
            ..SkipMap::default()
        };
        let everything = SkipMap::default();
        let _ = quick_effects(&rec, &nothing);
        let _ = quick_effects(&rec, &everything);
        let _ = quick_effects(&rec, &ByParity);
        decoder.prepare(&rec);
        for i in 0..slots.len() {
            if let Ok(cv) = decoder.vector(&rec, i) {
                let _ = parse_leaf_op(&cv);
                let _ = parse_leaf_undo(&cv);
            }
        }
    }
    if let Ok(row) = parse_compressed_row(data, &[]) {
        let supp: Vec<(u16, Option<&[u8]>)> = data
            .chunks(3)
            .enumerate()
            .map(|(i, c)| (i as u16, (c[0] & 1 == 0).then_some(&c[1..])))
            .collect();
        let _ = image_values(&row, &supp, &[]);
    }
});
