//! The file and block layer (`drcapture/redo/blocks.py`): file header, redo header,
//! block headers and checks. A [`RedoFile`] opens a [`BlockSource`], checks block 0 and
//! block 1 and knows which blocks may hold redo; the record walk
//! ([`crate::records::RecordWalker`]) reads and checks the rest.
//!
//! For an online log a block of an older sequence (or never written) is "not yet
//! written", where a reader stops and waits; a newer sequence means it was overwritten.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use crate::binary::{Endian, RedoTime, SCN_MAX, redo_time};
use crate::checksum::{fold, stored_checksum};
use crate::error::{Error, ErrorKind, Fact, Result, hex_lower};
use crate::layout as L;

/// Something that yields the bytes of a redo log (a local file now; ASM or SSH later).
pub trait BlockSource: Send + Sync {
    /// A human name for errors (a path, `<memory>` …).
    fn name(&self) -> &str;

    /// Up to `size` bytes from byte `offset` into `out` (cleared first); fewer only at
    /// the current end of the log.
    fn read_into(&self, offset: u64, size: usize, out: &mut Vec<u8>) -> io::Result<()>;
}

/// A redo log on a local file system, opened per read (online logs grow and rotate).
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    name: String,
}

impl FileSource {
    /// A source over `path`; `name` is how errors call it (the path as given).
    pub fn new(path: PathBuf, name: String) -> Self {
        FileSource { path, name }
    }
}

impl BlockSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn read_into(&self, offset: u64, size: usize, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        out.reserve(size.min(8 << 20)); // a span: at most 2,048 blocks of 4 KiB
        let mut file = File::open(&self.path)?;
        file.seek(SeekFrom::Start(offset))?;
        file.take(size as u64).read_to_end(out)?;
        Ok(())
    }
}

/// A redo log held in memory (tests, the writer's output, a downloaded copy).
#[derive(Debug, Clone)]
pub struct BytesSource {
    data: Arc<[u8]>,
    label: String,
}

impl BytesSource {
    /// A source over `data`, called `label` in errors.
    pub fn new(data: Arc<[u8]>, label: String) -> Self {
        BytesSource { data, label }
    }
}

impl BlockSource for BytesSource {
    fn name(&self) -> &str {
        &self.label
    }

    fn read_into(&self, offset: u64, size: usize, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        let len = self.data.len() as u64;
        if offset < len {
            let start = offset as usize;
            let end = start.saturating_add(size).min(self.data.len());
            out.extend_from_slice(&self.data[start..end]);
        }
        Ok(())
    }
}

/// Block 0: block size, block count and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    pub block_size: u32,
    pub block_count: u32,
    pub endian: Endian,
}

/// Block 1 (kcrfh): which database, thread and sequence this log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedoHeader {
    pub compat_vsn: u32,
    pub db_id: u32,
    pub db_name: String,
    pub control_seq: u32,
    pub file_size_blocks: u32,
    pub file_number: u16,
    pub activation_id: u32,
    pub description: String,
    pub nab: u32,
    pub resetlogs_id: u32,
    pub resetlogs_scn: u64,
    pub thread: u16,
    pub sequence: u32,
    pub first_scn: u64,
    /// Raw redo time (checked to be a real date); see [`redo_time`].
    pub first_time: u32,
    pub next_scn: u64,
    pub next_time: u32,
    pub prev_resetlogs_id: u32,
    pub prev_resetlogs_scn: u64,
}

impl RedoHeader {
    /// True from 12.1 on: change-vector headers are 32 bytes with a container id.
    pub fn wide_vectors(&self) -> bool {
        self.compat_vsn >= L::COMPAT_12C
    }

    /// True while the log is being written (next SCN not yet known).
    pub fn open_ended(&self) -> bool {
        self.next_scn == SCN_MAX
    }

    /// The first SCN's time.
    pub fn first_moment(&self) -> Option<RedoTime> {
        redo_time(self.first_time).ok().flatten()
    }
}

/// What a block's header says about its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockStatus {
    Ok,
    /// Older sequence, or never written: wait, not corrupt.
    NotYetWritten,
    /// Newer sequence: the online log was reused.
    Overwritten,
}

impl BlockStatus {
    /// The Python `BlockStatus` value.
    pub fn value(self) -> &'static str {
        match self {
            BlockStatus::Ok => "ok",
            BlockStatus::NotYetWritten => "not_yet_written",
            BlockStatus::Overwritten => "overwritten",
        }
    }

    /// The status of a Python `BlockStatus` value.
    pub fn from_value(value: &str) -> Option<Self> {
        match value {
            "ok" => Some(BlockStatus::Ok),
            "not_yet_written" => Some(BlockStatus::NotYetWritten),
            "overwritten" => Some(BlockStatus::Overwritten),
            _ => None,
        }
    }
}

/// Expectations a block is checked against.
#[derive(Debug, Clone, Copy)]
pub struct BlockCheck<'a> {
    pub file: &'a str,
    pub block_size: u32,
    /// `None`: take it from the block (block 1).
    pub sequence: Option<u32>,
    /// An online log may hold not-yet-written or reused blocks.
    pub online: bool,
    pub verify_checksum: bool,
}

fn bad_header(message: &'static str, file: &str) -> Error {
    Error::corrupt(message).at("file", file).at("block", 0u32)
}

/// Read block 0; the magic decides the byte order of everything else.
pub fn parse_file_header(block0: &[u8], file: &str) -> Result<FileHeader> {
    let magic = match L::bytes_magic(block0) {
        Some(m) => m,
        None => {
            return Err(
                bad_header("file too short for a redo file header", file).at("found", block0.len())
            );
        }
    };
    let endian = if magic == L::MAGIC_LITTLE {
        Endian::Little
    } else if magic == L::MAGIC_BIG {
        Endian::Big
    } else {
        return Err(bad_header("not an Oracle redo file: bad magic", file)
            .at("expected", hex_lower(&L::MAGIC_LITTLE))
            .at("found", hex_lower(&magic)));
    };
    let kind0 = block0[L::FILE_HEADER_TYPE_OFFSET];
    if kind0 != 0 {
        return Err(bad_header("file header block type is not 0", file).at("found", kind0));
    }
    let block_size = endian.u32(block0, L::FILE_HEADER_BLOCK_SIZE_OFFSET)?;
    if !L::BLOCK_SIZES.contains(&block_size) {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            "redo block size not supported",
        )
        .at("file", file)
        .at("block", 0u32)
        .at("found", block_size)
        .at(
            "expected",
            Fact::Ints(L::BLOCK_SIZES.iter().map(|&s| i128::from(s)).collect()),
        ));
    }
    let kind = block0[L::FILE_HEADER_KIND_OFFSET];
    if !L::block_kinds_accepted(block_size).contains(&kind) {
        return Err(
            bad_header("file header kind does not match the block size", file)
                .at("expected", L::block_kind_by_size(block_size))
                .at("found", kind),
        );
    }
    let block_count = endian.u32(block0, L::FILE_HEADER_BLOCK_COUNT_OFFSET)?;
    Ok(FileHeader {
        block_size,
        block_count,
        endian,
    })
}

/// The 16-byte header of a redo block: (number, sequence, first-record offset, checksum).
#[inline]
pub fn parse_block_header(block: &[u8], endian: Endian) -> Result<(u32, u32, u16, u16)> {
    Ok((
        endian.u32(block, L::BLOCK_NUMBER_OFFSET)?,
        endian.u32(block, L::BLOCK_SEQUENCE_OFFSET)?,
        endian.u16(block, L::BLOCK_RECORD_OFFSET_OFFSET)? & L::BLOCK_RECORD_OFFSET_MASK,
        endian.u16(block, L::BLOCK_CHECKSUM_OFFSET)?,
    ))
}

/// Text of a header field: up to the first NUL, ASCII with U+FFFD for other bytes.
fn header_text(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    raw[..end]
        .iter()
        .map(|&b| if b < 0x80 { char::from(b) } else { '\u{FFFD}' })
        .collect()
}

/// Python's `str.strip()` over text that holds ASCII and U+FFFD only.
fn py_strip(text: &str) -> String {
    let ws = |c: char| {
        matches!(
            c,
            '\t' | '\n' | '\x0b' | '\x0c' | '\r' | '\x1c'..='\x1f' | ' '
        )
    };
    text.trim_matches(ws).to_owned()
}

/// Read block 1 (kcrfh); its block header is checked by [`check_block`].
pub fn parse_redo_header(block1: &[u8], endian: Endian) -> Result<RedoHeader> {
    let e = endian;
    let name_end = L::REDO_HEADER_DB_NAME + 8;
    let desc_end = L::REDO_HEADER_DESCRIPTION + L::REDO_HEADER_DESCRIPTION_LEN;
    let raw_name = block1.get(L::REDO_HEADER_DB_NAME..name_end).unwrap_or(&[]);
    let raw_desc = block1
        .get(L::REDO_HEADER_DESCRIPTION..desc_end)
        .unwrap_or(&[]);
    let compat_vsn = e.u32(block1, L::REDO_HEADER_COMPAT_VSN)?;
    let db_id = e.u32(block1, L::REDO_HEADER_DB_ID)?;
    let control_seq = e.u32(block1, L::REDO_HEADER_CONTROL_SEQ)?;
    let file_size_blocks = e.u32(block1, L::REDO_HEADER_FILE_SIZE)?;
    let file_number = e.u16(block1, L::REDO_HEADER_FILE_NUMBER)?;
    let activation_id = e.u32(block1, L::REDO_HEADER_ACTIVATION)?;
    let nab = e.u32(block1, L::REDO_HEADER_NAB)?;
    let resetlogs_id = e.u32(block1, L::REDO_HEADER_RESETLOGS_ID)?;
    let resetlogs_scn = e.scn(block1, L::REDO_HEADER_RESETLOGS_SCN)?;
    let thread = e.u16(block1, L::REDO_HEADER_THREAD)?;
    let sequence = e.u32(block1, L::BLOCK_SEQUENCE_OFFSET)?;
    let first_scn = e.scn(block1, L::REDO_HEADER_FIRST_SCN)?;
    let first_time = e.u32(block1, L::REDO_HEADER_FIRST_TIME)?;
    redo_time(first_time)?;
    let next_scn = e.scn(block1, L::REDO_HEADER_NEXT_SCN)?;
    let next_time = e.u32(block1, L::REDO_HEADER_NEXT_TIME)?;
    redo_time(next_time)?;
    Ok(RedoHeader {
        compat_vsn,
        db_id,
        db_name: py_strip(&header_text(raw_name)),
        control_seq,
        file_size_blocks,
        file_number,
        activation_id,
        description: header_text(raw_desc),
        nab,
        resetlogs_id,
        resetlogs_scn,
        thread,
        sequence,
        first_scn,
        first_time,
        next_scn,
        next_time,
        prev_resetlogs_id: e.u32(block1, L::REDO_HEADER_PREV_RESETLOGS_ID)?,
        prev_resetlogs_scn: e.scn(block1, L::REDO_HEADER_PREV_RESETLOGS_SCN)?,
    })
}

/// Validate one redo block: an error for damage, else its status.
pub fn check_block(
    block: &[u8],
    number: u64,
    endian: Endian,
    check: &BlockCheck<'_>,
) -> Result<BlockStatus> {
    let size = check.block_size as usize;
    if block.len() != size {
        return Err(Error::corrupt("truncated block")
            .at("file", check.file)
            .at("block", number)
            .at("expected", check.block_size)
            .at("found", block.len()));
    }
    // block_size is at least 512: the header bytes below exist.
    if block[0] == 0 && block[1] == 0 && check.online {
        return Ok(BlockStatus::NotYetWritten);
    }
    let kinds = L::block_kinds_accepted(check.block_size);
    if block[L::BLOCK_TYPE_OFFSET] != L::REDO_BLOCK_TYPE
        || !kinds.contains(&block[L::BLOCK_KIND_OFFSET])
    {
        return Err(Error::corrupt("not a redo block")
            .at("file", check.file)
            .at("block", number)
            .at("expected", format!("01{:02x}", kinds[0]))
            .at("found", hex_lower(&block[..2])));
    }
    let (found_number, sequence, _, checksum) = parse_block_header(block, endian)?;
    if let Some(want) = check.sequence {
        if sequence != want {
            if check.online && sequence < want {
                return Ok(BlockStatus::NotYetWritten);
            }
            if check.online {
                return Ok(BlockStatus::Overwritten);
            }
            return Err(Error::corrupt("block belongs to another log sequence")
                .at("file", check.file)
                .at("block", number)
                .at("expected", want)
                .at("found", sequence));
        }
    }
    if u64::from(found_number) != number {
        return Err(
            Error::corrupt("block number mismatch (torn or misplaced block)")
                .at("file", check.file)
                .at("block", number)
                .at("expected", number)
                .at("found", found_number),
        );
    }
    if check.verify_checksum && stored_checksum(block) != 0 {
        let residue = fold(block);
        if residue != 0 {
            return Err(Error::corrupt("block checksum mismatch")
                .at("file", check.file)
                .at("block", number)
                .at("expected", format!("0x{checksum:04x}"))
                .at("found", format!("0x{:04x}", checksum ^ residue)));
        }
    }
    Ok(BlockStatus::Ok)
}

/// An opened redo log: validated headers plus what the walk needs to read its blocks.
pub struct RedoFile {
    source: Box<dyn BlockSource>,
    pub online: bool,
    pub verify_checksum: bool,
    pub file_header: FileHeader,
    pub header: RedoHeader,
}

impl RedoFile {
    /// Open a log: block 0 (byte order, block size) and block 1 (the redo header), both
    /// checked; errors as `RedoFile.__init__` raises them.
    pub fn open(source: Box<dyn BlockSource>, online: bool, verify_checksum: bool) -> Result<Self> {
        let mut buf = Vec::new();
        source.read_into(0, 512, &mut buf)?;
        let file_header = parse_file_header(&buf, source.name())?;
        let size = file_header.block_size as usize;
        source.read_into(0, 2 * size, &mut buf)?;
        if buf.len() < 2 * size {
            return Err(Error::corrupt("truncated file: no redo header block")
                .at("file", source.name())
                .at("block", 1u32)
                .at("expected", 2 * size)
                .at("found", buf.len()));
        }
        let block1 = &buf[size..];
        let check = BlockCheck {
            file: source.name(),
            block_size: file_header.block_size,
            sequence: None,
            online: false,
            verify_checksum,
        };
        check_block(block1, 1, file_header.endian, &check)?;
        let header = parse_redo_header(block1, file_header.endian)?;
        Ok(RedoFile {
            source,
            online,
            verify_checksum,
            file_header,
            header,
        })
    }

    /// The source's name (for errors and reports).
    pub fn name(&self) -> &str {
        self.source.name()
    }

    /// The file's byte order.
    pub fn endian(&self) -> Endian {
        self.file_header.endian
    }

    /// Redo block size in bytes.
    pub fn block_size(&self) -> u32 {
        self.file_header.block_size
    }

    /// The last block that may hold redo: below `nab` when set (archived logs), else the
    /// file's end.
    pub fn last_block(&self) -> u64 {
        let count = u64::from(self.file_header.block_count);
        let nab = u64::from(self.header.nab);
        if !self.online && 2 <= nab && nab <= count + 1 {
            return nab - 1;
        }
        count
    }

    /// The checks every block after block 1 gets.
    pub fn block_check(&self) -> BlockCheck<'_> {
        BlockCheck {
            file: self.name(),
            block_size: self.block_size(),
            sequence: Some(self.header.sequence),
            online: self.online,
            verify_checksum: self.verify_checksum,
        }
    }

    /// Read `count` blocks from block `first` into `out` (fewer at the end of the log).
    pub fn read_blocks(&self, first: u64, count: u64, out: &mut Vec<u8>) -> Result<()> {
        let size = u64::from(self.block_size());
        let offset = first.saturating_mul(size);
        let bytes = usize::try_from(count.saturating_mul(size)).unwrap_or(usize::MAX);
        self.source.read_into(offset, bytes, out)?;
        Ok(())
    }
}
