//! ROWID (69) (`drcapture/values/rowid.py`): 32 bits data object, 10 bits relative file,
//! 22 bits block, 16 bits row, big-endian; text in Oracle's base 64 (6, 3, 6, 3 digits).

use crate::error::{Error, Result, hex_upper};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Append the `width` low base-64 digits of `value` (the change builder's ROWID text too).
pub(crate) fn b64(mut value: u64, width: usize, out: &mut String) {
    let mut chars = [0u8; 6];
    for slot in chars[..width].iter_mut().rev() {
        *slot = ALPHABET[(value % 64) as usize];
        value /= 64;
    }
    out.extend(chars[..width].iter().map(|&c| char::from(c)));
}

/// Append the 18-character text of a 10-byte ROWID.
pub fn decode_rowid(raw: &[u8], out: &mut String) -> Result<()> {
    let Ok(b) = <[u8; 10]>::try_from(raw) else {
        return Err(Error::malformed("ROWID must be 10 bytes").at("hex", hex_upper(raw)));
    };
    let obj = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let file_block = u64::from(u32::from_be_bytes([b[4], b[5], b[6], b[7]]));
    let row = u64::from(u16::from_be_bytes([b[8], b[9]]));
    b64(obj, 6, out);
    b64(file_block >> 22, 3, out);
    b64(file_block & 0x3F_FFFF, 6, out);
    b64(row, 3, out);
    Ok(())
}
