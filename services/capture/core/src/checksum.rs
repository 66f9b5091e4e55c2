//! Oracle's redo block checksum (`drcapture/redo/checksum.py`): the block XOR-ed as
//! 32-bit words, folded to 16 bits; the stored u16 at offset 14 makes the fold over the
//! whole block zero. Byte order does not matter for a fold checked against zero.

use crate::layout::BLOCK_CHECKSUM_OFFSET;

/// The 16-bit XOR fold of a block (0 for a block whose checksum is right).
///
/// 64-bit words in native order first, as the Python reference reads them
/// (`memoryview.cast("Q")`), then any 4-byte tail little-endian.
pub fn fold(block: &[u8]) -> u16 {
    let usable = block.len() - block.len() % 8;
    let (head, tail) = block.split_at(usable);
    // Eight lanes XOR-ed independently so the loop vectorises; XOR is associative.
    let mut lanes = [0u64; 8];
    let mut chunks = head.chunks_exact(64);
    for chunk in &mut chunks {
        for (lane, word) in lanes.iter_mut().zip(chunk.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane ^= u64::from_ne_bytes(w);
        }
    }
    let mut acc = lanes.iter().fold(0u64, |a, &b| a ^ b);
    for word in chunks.remainder().chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        acc ^= u64::from_ne_bytes(w);
    }
    let mut word = ((acc ^ (acc >> 32)) & 0xFFFF_FFFF) as u32;
    for w4 in tail.chunks_exact(4) {
        let mut w = [0u8; 4];
        w.copy_from_slice(w4);
        word ^= u32::from_le_bytes(w);
    }
    ((word ^ (word >> 16)) & 0xFFFF) as u16
}

/// The raw two bytes at the checksum offset as a little-endian number (0 = not set).
pub fn stored_checksum(block: &[u8]) -> u16 {
    match block.get(BLOCK_CHECKSUM_OFFSET..BLOCK_CHECKSUM_OFFSET + 2) {
        Some(b) => u16::from_le_bytes([b[0], b[1]]),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_cancels() {
        let mut block = vec![0u8; 512];
        for (i, b) in block.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        block[14] = 0;
        block[15] = 0;
        let v = fold(&block);
        block[14..16].copy_from_slice(&v.to_le_bytes());
        assert_eq!(fold(&block), 0);
    }
}
