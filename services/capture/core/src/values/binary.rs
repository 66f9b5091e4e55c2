//! RAW (23), LONG RAW (24) and BOOLEAN (252) (`drcapture/values/binary.py`).

use crate::error::{Error, Result, hex_upper};

/// Append the upper-case hex of RAW bytes.
pub fn decode_raw(raw: &[u8], out: &mut String) {
    out.push_str(&hex_upper(raw));
}

/// Append `true` or `false` for a BOOLEAN's single byte 1 or 0.
pub fn decode_boolean(raw: &[u8], out: &mut String) -> Result<()> {
    match raw {
        [1] => out.push_str("true"),
        [0] => out.push_str("false"),
        _ => {
            return Err(
                Error::malformed("BOOLEAN must be the byte 0 or 1").at("hex", hex_upper(raw))
            );
        }
    }
    Ok(())
}
