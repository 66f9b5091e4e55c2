//! Every value decoder on the fuzzer's bytes (the first byte picks the scale and the
//! character set). Errors are fine, panics are not.
#![no_main]

use std::sync::OnceLock;

use drcapture_core::values::datetimes::{self, TimeZones};
use drcapture_core::values::text::{self, CHARSETS};
use drcapture_core::values::{binary, ieee, intervals, number, rowid};
use libfuzzer_sys::fuzz_target;

/// The regions' rules from this machine's time-zone files (none where it has none).
fn zones() -> &'static TimeZones {
    static ZONES: OnceLock<TimeZones> = OnceLock::new();
    ZONES.get_or_init(|| {
        let files: Vec<(String, Vec<u8>)> = ["US/Pacific", "PST8PDT"]
            .iter()
            .filter_map(|name| {
                let data = std::fs::read(format!("/usr/share/zoneinfo/{name}")).ok()?;
                Some(((*name).to_owned(), data))
            })
            .collect();
        TimeZones::from_tzif(&files)
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&pick, raw)) = input.split_first() else {
        return;
    };
    let scale = if pick & 0x80 != 0 {
        None
    } else {
        Some(i64::from(pick & 0x0F) - 3)
    };
    let zones = zones();
    let mut out = String::new();
    let _ = number::decode_number(raw, &mut out);
    let _ = ieee::decode_binary_float(raw, &mut out);
    let _ = ieee::decode_binary_double(raw, &mut out);
    let _ = datetimes::decode_date(raw, &mut out);
    let _ = datetimes::decode_timestamp(raw, scale, &mut out);
    let _ = datetimes::decode_timestamp_tz(raw, scale, zones, &mut out);
    let _ = intervals::decode_interval_ym(raw, &mut out);
    let _ = intervals::decode_interval_ds(raw, scale, &mut out);
    let _ = binary::decode_boolean(raw, &mut out);
    let _ = rowid::decode_rowid(raw, &mut out);
    binary::decode_raw(raw, &mut out);
    let (cs, _) = CHARSETS[usize::from(pick) % CHARSETS.len()];
    let _ = text::decode_text(raw, cs, &mut out);
});
