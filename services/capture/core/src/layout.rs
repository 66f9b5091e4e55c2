//! Byte layouts of an Oracle redo log: file header, redo header, block header, record
//! header and change-vector header. The same facts as `drcapture/redo/layout.py` (which
//! cites their sources, see docs/REDO_FORMAT.md); every offset is relative to the start
//! of its structure, multi-byte integers are in the file's byte order.

// --- Block 0: the file header --------------------------------------------------------
pub const FILE_HEADER_TYPE_OFFSET: usize = 0; // u8: always 0x00 in block 0
pub const FILE_HEADER_KIND_OFFSET: usize = 1; // u8: block-size code
pub const FILE_HEADER_BLOCK_SIZE_OFFSET: usize = 20; // u32: redo block size
pub const FILE_HEADER_BLOCK_COUNT_OFFSET: usize = 24; // u32: blocks after block 0
pub const FILE_HEADER_MAGIC_OFFSET: usize = 28; // 4 bytes: byte-order magic
pub const MAGIC_LITTLE: [u8; 4] = [0x7D, 0x7C, 0x7B, 0x7A];
pub const MAGIC_BIG: [u8; 4] = [0x7A, 0x7B, 0x7C, 0x7D];
pub const BLOCK_SIZES: [u32; 3] = [512, 1024, 4096];

/// The size code writers put for a block size.
pub fn block_kind_by_size(size: u32) -> u8 {
    if size == 4096 { 0x82 } else { 0x22 }
}

/// The size codes a reader accepts for a block size (sources differ on 1024: 0x22 or 0x42).
pub fn block_kinds_accepted(size: u32) -> &'static [u8] {
    match size {
        1024 => &[0x22, 0x42],
        4096 => &[0x82],
        _ => &[0x22],
    }
}

// --- Every redo block starts with a 16-byte header ------------------------------------
pub const BLOCK_HEADER_SIZE: usize = 16;
pub const BLOCK_TYPE_OFFSET: usize = 0; // u8: 0x01 for a redo block
pub const BLOCK_KIND_OFFSET: usize = 1; // u8: block-size code
pub const BLOCK_NUMBER_OFFSET: usize = 4; // u32: block number inside the file
pub const BLOCK_SEQUENCE_OFFSET: usize = 8; // u32: log sequence
pub const BLOCK_RECORD_OFFSET_OFFSET: usize = 12; // u16: first record starting here (masked)
pub const BLOCK_RECORD_OFFSET_MASK: u16 = 0x7FFF; // the top bit is a flag
pub const BLOCK_CHECKSUM_OFFSET: usize = 14; // u16: makes the block's XOR fold zero
pub const REDO_BLOCK_TYPE: u8 = 0x01;

// --- Block 1: the redo header (kcrfh), from the start of block 1 ---------------------
pub const REDO_HEADER_COMPAT_VSN: usize = 20; // u32
pub const REDO_HEADER_DB_ID: usize = 24; // u32
pub const REDO_HEADER_DB_NAME: usize = 28; // 8 bytes, NUL padded
pub const REDO_HEADER_CONTROL_SEQ: usize = 36; // u32
pub const REDO_HEADER_FILE_SIZE: usize = 40; // u32: configured size in blocks
pub const REDO_HEADER_FILE_NUMBER: usize = 48; // u16
pub const REDO_HEADER_ACTIVATION: usize = 52; // u32
pub const REDO_HEADER_DESCRIPTION: usize = 92; // 64 bytes of text
pub const REDO_HEADER_DESCRIPTION_LEN: usize = 64;
pub const REDO_HEADER_NAB: usize = 156; // u32: next available block
pub const REDO_HEADER_RESETLOGS_ID: usize = 160; // u32
pub const REDO_HEADER_RESETLOGS_SCN: usize = 164; // SCN (8 bytes)
pub const REDO_HEADER_THREAD: usize = 176; // u16: RAC thread
pub const REDO_HEADER_FIRST_SCN: usize = 180; // SCN
pub const REDO_HEADER_FIRST_TIME: usize = 188; // u32 redo time
pub const REDO_HEADER_NEXT_SCN: usize = 192; // SCN (FF.. = open)
pub const REDO_HEADER_NEXT_TIME: usize = 200; // u32 redo time
pub const REDO_HEADER_PREV_RESETLOGS_SCN: usize = 284; // SCN
pub const REDO_HEADER_PREV_RESETLOGS_ID: usize = 292; // u32

// --- Redo record header --------------------------------------------------------------
pub const RECORD_LENGTH: usize = 0; // u32: whole record, header included
pub const RECORD_VLD: usize = 4; // u8: validity flags
pub const RECORD_SCN_WRAP: usize = 6; // u16 (top bit: extended wrap), then u32 base
pub const RECORD_SUB_SCN: usize = 12; // u16
pub const RECORD_CON_UID: usize = 16; // u32 (12.1+)
pub const RECORD_TIMESTAMP: usize = 64; // u32 redo time (long header only)
pub const RECORD_HEADER_SHORT: usize = 24;
pub const RECORD_HEADER_LONG: usize = 68;
pub const RECORD_MIN_TAIL: usize = 24; // a record never starts in a block's last 24 bytes

pub const VLD_VALID: u8 = 0x01; // holds change vectors
pub const VLD_LWN: u8 = 0x04; // long header: LWN start with timestamp

// --- Change vector header --------------------------------------------------------------
pub const CV_LAYER: usize = 0; // u8
pub const CV_CODE: usize = 1; // u8
pub const CV_CLASS: usize = 2; // u16
pub const CV_AFN: usize = 4; // u16
pub const CV_OBJ_HIGH: usize = 6; // u16
pub const CV_DBA: usize = 8; // u32
pub const CV_SCN: usize = 12; // SCN (8 bytes)
pub const CV_SEQ: usize = 20; // u8
pub const CV_TYPE: usize = 21; // u8
pub const CV_OBJ_LOW: usize = 22; // u16
pub const CV_CON_ID: usize = 24; // u16 (12.1+)
pub const CV_FLAGS: usize = 28; // u16 (12.1+)
pub const CV_TYPE_ENCRYPTED: u8 = 0x80; // CV_TYPE bit: the vector's data is encrypted (TDE)
pub const UNDO_CLASS_BASE: u16 = 15; // classes >= 15 are undo: usn = (class - 15) / 2
pub const CV_HEADER_11G: usize = 24;
pub const CV_HEADER_12C: usize = 32;

/// Compatibility version from which vector headers are 32 bytes (12.1.0.0).
pub const COMPAT_12C: u32 = 0x0C00_0000;

/// A field's length rounded up to the 4-byte boundary the next field starts on.
#[inline]
pub fn align4(length: usize) -> usize {
    (length + 3) & !3
}

/// The four magic bytes of block 0, `None` when the block is too short to hold them.
pub fn bytes_magic(block0: &[u8]) -> Option<[u8; 4]> {
    crate::binary::bytes_at::<4>(block0, FILE_HEADER_MAGIC_OFFSET)
}
