//! Redo records (`drcapture/redo/records.py`): reassembly across blocks, the record
//! header, and the vector scan of every record.
//!
//! [`RecordWalker`] is the reader of one log: it reads blocks a span at a time, checks
//! each block as the walk reaches it (so errors and online stops are exactly those of
//! the Python reader's block-by-block walk) and hands out [`RecordView`]s that borrow
//! the walker's buffers: no allocation per record once the buffers have grown.
//!
//! [`ReadState`] moves like the Python generator's: the position after a record is
//! taken when the next record is asked for, so a caller that stops after a record and
//! resumes later with the state sees that record again, as the Python walk does.

use std::fmt;
use std::sync::Arc;

use crate::binary::{Endian, record_scn_of, redo_time};
use crate::blocks::{BlockStatus, RedoFile, check_block};
use crate::error::{Error, Result};
use crate::layout as L;
use crate::vectors::{VectorSlot, scan_vectors};

/// Blocks read at once (1 MiB of 512-byte blocks), as the Python reader's spans.
pub const SPAN_BLOCKS: u64 = 2048;

/// Redo byte address: log sequence, block, byte offset inside the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rba {
    pub sequence: u32,
    pub block: u64,
    pub offset: u64,
}

impl fmt::Display for Rba {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "0x{:06x}.{:08x}.{:04x}",
            self.sequence, self.block, self.offset
        )
    }
}

/// The fixed part of a redo record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub length: u32,
    pub vld: u8,
    pub scn: u64,
    pub sub_scn: u16,
    /// Container uid (12.1+ layouts only).
    pub con_uid: Option<u32>,
    /// The LWN's raw redo time (long headers only; checked to be a real date).
    pub timestamp: Option<u32>,
    pub header_size: u8,
}

/// Where reading stands: the block to look at next (records before `resume_offset` in
/// it were already handed out) and why reading last stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    pub next_block: u64,
    pub resume_offset: u64,
    pub stopped: BlockStatus,
}

impl Default for ReadState {
    fn default() -> Self {
        ReadState {
            next_block: 2,
            resume_offset: 0,
            stopped: BlockStatus::Ok,
        }
    }
}

/// `exc` naming the record's RBA first, unless it names one already (`_at_rba`).
fn at_rba(err: Error, rba: Rba) -> Error {
    if err.has("rba") {
        err
    } else {
        err.first("rba", rba.to_string())
    }
}

/// The record header read field by field (short records and damaged lengths), with
/// the Python reader's errors.
fn parse_record_header_checked(
    data: &[u8],
    endian: Endian,
    wide: bool,
    rba: Rba,
) -> Result<RecordHeader> {
    let e = endian;
    let length = e.u32(data, L::RECORD_LENGTH)?;
    let vld = e.u8(data, L::RECORD_VLD)?;
    let long_form = vld & L::VLD_LWN != 0;
    let size = if long_form {
        L::RECORD_HEADER_LONG
    } else {
        L::RECORD_HEADER_SHORT
    };
    if (length as usize) < size || length as usize > data.len() {
        return Err(Error::corrupt("record length does not fit")
            .at("rba", rba)
            .at("expected", format!(">= {size}"))
            .at("found", length)
            .at("available", data.len()));
    }
    let scn = e.record_scn(data, L::RECORD_SCN_WRAP)?;
    let sub_scn = e.u16(data, L::RECORD_SUB_SCN)?;
    let con_uid = if wide {
        Some(e.u32(data, L::RECORD_CON_UID)?)
    } else {
        None
    };
    let timestamp = if long_form {
        let raw = e.u32(data, L::RECORD_TIMESTAMP)?;
        redo_time(raw)?;
        Some(raw)
    } else {
        None
    };
    Ok(RecordHeader {
        length,
        vld,
        scn,
        sub_scn,
        con_uid,
        timestamp,
        header_size: size as u8,
    })
}

/// The record header: one read of the fixed fields for the usual record.
fn read_record_header(data: &[u8], endian: Endian, wide: bool, rba: Rba) -> Result<RecordHeader> {
    if data.len() < L::RECORD_HEADER_LONG {
        return parse_record_header_checked(data, endian, wide, rba);
    }
    let e = endian;
    let (Some(length), Some(&vld), Some(wrap), Some(base), Some(sub_scn), Some(con_uid)) = (
        e.get_u32(data, L::RECORD_LENGTH),
        data.get(L::RECORD_VLD),
        e.get_u16(data, L::RECORD_SCN_WRAP),
        e.get_u32(data, L::RECORD_SCN_WRAP + 2),
        e.get_u16(data, L::RECORD_SUB_SCN),
        e.get_u32(data, L::RECORD_CON_UID),
    ) else {
        return parse_record_header_checked(data, endian, wide, rba);
    };
    let long_form = vld & L::VLD_LWN != 0;
    let size = if long_form {
        L::RECORD_HEADER_LONG
    } else {
        L::RECORD_HEADER_SHORT
    };
    if (length as usize) < size || length as usize > data.len() {
        return parse_record_header_checked(data, endian, wide, rba); // raises
    }
    let timestamp = if long_form {
        let raw = e.get_u32(data, L::RECORD_TIMESTAMP).unwrap_or(0);
        redo_time(raw)?;
        Some(raw)
    } else {
        None
    };
    Ok(RecordHeader {
        length,
        vld,
        scn: record_scn_of(u32::from(wrap), base),
        sub_scn,
        con_uid: if wide { Some(con_uid) } else { None },
        timestamp,
        header_size: size as u8,
    })
}

/// Header and change-vector layout of one record (`read_record`); errors name the RBA.
/// The slots and their field lengths go to `slots`/`lengths` (cleared first).
pub fn parse_record(
    rba: Rba,
    data: &[u8],
    endian: Endian,
    wide: bool,
    slots: &mut Vec<VectorSlot>,
    lengths: &mut Vec<u16>,
) -> Result<RecordHeader> {
    slots.clear();
    lengths.clear();
    let header = read_record_header(data, endian, wide, rba).map_err(|e| at_rba(e, rba))?;
    if header.vld & L::VLD_VALID != 0 {
        scan_vectors(
            data,
            usize::from(header.header_size),
            header.length as usize,
            endian,
            wide,
            slots,
            lengths,
        )
        .map_err(|e| at_rba(e, rba))?;
    }
    Ok(header)
}

/// One record as the walk hands it out: borrowed from the walker until the next call.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    pub rba: Rba,
    pub header: RecordHeader,
    /// The record's bytes, header included.
    pub data: &'a [u8],
    /// Where each change vector is.
    pub slots: &'a [VectorSlot],
    /// The field lengths of all vectors (see [`VectorSlot::lengths`]).
    pub lengths: &'a [u16],
}

/// Where the walk stands between two calls (the points where the Python generator
/// yields or re-enters its loops).
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// At the head of the loop over blocks.
    Blocks,
    /// At the head of the loop over records inside `block` (0: none left).
    Records { block: u64, offset: u64 },
    /// A record was just handed out (or passed over while resuming).
    After {
        block: u64,
        end_block: u64,
        end_offset: u64,
    },
    /// Finished: at the end, at a stop, or after an error.
    Done,
}

/// Where the current record's bytes are.
#[derive(Debug, Clone, Copy)]
enum Bytes {
    Window { start: usize, len: usize },
    Assembled,
}

/// Blocks read from the source, checked lazily as the walk reaches them.
struct Window {
    data: Vec<u8>,
    first: u64,
    /// Whole blocks present.
    count: u64,
    /// Blocks `first..ok_until` were checked and are OK.
    ok_until: u64,
}

/// The record walk over one log (`walk_records` + `RecordParser.parse`).
pub struct RecordWalker {
    file: Arc<RedoFile>,
    state: ReadState,
    resume: (u64, u64),
    phase: Phase,
    last: u64,
    size: u64,
    window: Window,
    assembled: Vec<u8>,
    slots: Vec<VectorSlot>,
    lengths: Vec<u16>,
}

/// The result of gathering one record's bytes.
enum Gathered {
    Record {
        bytes: Bytes,
        end_block: u64,
        end_offset: u64,
    },
    Stopped(BlockStatus),
}

impl RecordWalker {
    /// A walk over `file` from `state` (the default state starts at the first record).
    pub fn new(file: Arc<RedoFile>, state: ReadState) -> Self {
        let last = file.last_block();
        let size = u64::from(file.block_size());
        RecordWalker {
            file,
            resume: (state.next_block, state.resume_offset),
            state,
            phase: Phase::Blocks,
            last,
            size,
            window: Window {
                data: Vec::new(),
                first: 0,
                count: 0,
                ok_until: 0,
            },
            assembled: Vec::new(),
            slots: Vec::new(),
            lengths: Vec::new(),
        }
    }

    /// Where reading stands (see the module notes on when it moves).
    pub fn state(&self) -> ReadState {
        self.state
    }

    /// The log being walked.
    pub fn file(&self) -> &Arc<RedoFile> {
        &self.file
    }

    /// The next record, `None` at the end of written redo or where an online log stops
    /// (the state says which). After an error the walk is over, as a Python generator
    /// that raised.
    pub fn next_record(&mut self) -> Result<Option<RecordView<'_>>> {
        match self.advance() {
            Ok(Some((rba, bytes))) => {
                let data: &[u8] = match bytes {
                    Bytes::Window { start, len } => &self.window.data[start..start + len],
                    Bytes::Assembled => &self.assembled,
                };
                let endian = self.file.endian();
                let wide = self.file.header.wide_vectors();
                match parse_record(rba, data, endian, wide, &mut self.slots, &mut self.lengths) {
                    Ok(header) => Ok(Some(RecordView {
                        rba,
                        header,
                        data,
                        slots: &self.slots,
                        lengths: &self.lengths,
                    })),
                    Err(e) => {
                        self.phase = Phase::Done;
                        Err(e)
                    }
                }
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.phase = Phase::Done;
                Err(e)
            }
        }
    }

    /// Run the walk to the next record to hand out: its RBA and where its bytes are.
    fn advance(&mut self) -> Result<Option<(Rba, Bytes)>> {
        let size = self.size;
        let tail = size - L::RECORD_MIN_TAIL as u64;
        loop {
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::Blocks => {
                    if self.state.next_block > self.last {
                        self.state.stopped = BlockStatus::Ok;
                        self.phase = Phase::Done;
                        return Ok(None);
                    }
                    let block = self.state.next_block;
                    let status = self.load(block)?;
                    if status != BlockStatus::Ok {
                        self.state.stopped = status;
                        self.phase = Phase::Done;
                        return Ok(None);
                    }
                    let base = self.base(block);
                    let raw = self.u16_at(base + L::BLOCK_RECORD_OFFSET_OFFSET);
                    let offset = u64::from(raw & L::BLOCK_RECORD_OFFSET_MASK);
                    if offset != 0 && !(L::BLOCK_HEADER_SIZE as u64 <= offset && offset <= size - 4)
                    {
                        return Err(Error::corrupt("first-record offset outside the block")
                            .at("file", self.file.name())
                            .at("block", block)
                            .at("found", offset));
                    }
                    self.phase = Phase::Records { block, offset };
                }
                Phase::Records { block, offset } => {
                    let length = if offset == 0 {
                        0
                    } else {
                        let base = self.base(block);
                        self.u32_at(base + offset as usize)
                    };
                    if length == 0 {
                        self.state.next_block = block + 1;
                        self.state.resume_offset = 0;
                        self.phase = Phase::Blocks;
                        continue;
                    }
                    let rba = Rba {
                        sequence: self.file.header.sequence,
                        block,
                        offset,
                    };
                    match self.gather(rba, u64::from(length))? {
                        Gathered::Stopped(status) => {
                            self.state.next_block = block;
                            self.state.resume_offset = offset;
                            self.state.stopped = status;
                            self.phase = Phase::Done;
                            return Ok(None);
                        }
                        Gathered::Record {
                            bytes,
                            end_block,
                            end_offset,
                        } => {
                            self.phase = Phase::After {
                                block,
                                end_block,
                                end_offset,
                            };
                            if (block, offset) >= self.resume {
                                return Ok(Some((rba, bytes)));
                            }
                        }
                    }
                }
                Phase::After {
                    block,
                    end_block,
                    end_offset,
                } => {
                    let block = if end_block != block { end_block } else { block };
                    self.state.next_block = block;
                    self.state.resume_offset = end_offset;
                    let offset = if end_offset <= tail { end_offset } else { 0 };
                    self.phase = Phase::Records { block, offset };
                }
            }
        }
    }

    /// The bytes of the record at `rba` (`length` long) and the position right after
    /// it, or the status of the block that stopped it (online logs).
    fn gather(&mut self, rba: Rba, length: u64) -> Result<Gathered> {
        let size = self.size;
        let base = self.base(rba.block);
        let offset = rba.offset;
        if offset + length <= size {
            let start = base + offset as usize;
            return Ok(Gathered::Record {
                bytes: Bytes::Window {
                    start,
                    len: length as usize,
                },
                end_block: rba.block,
                end_offset: offset + length,
            });
        }
        let head = L::BLOCK_HEADER_SIZE as u64;
        let payload = size - head;
        self.assembled.clear();
        self.assembled
            .extend_from_slice(&self.window.data[base + offset as usize..base + size as usize]);
        let mut have = size - offset;
        let mut block = rba.block;
        let mut take = 0;
        while have < length {
            block += 1;
            if block > self.last {
                return Err(Error::corrupt("record runs past the end of the log")
                    .at("file", self.file.name())
                    .at("block", block)
                    .at("rba", rba.to_string())
                    .at("expected", length)
                    .at("found", have));
            }
            let status = self.load(block)?;
            if status != BlockStatus::Ok {
                return Ok(Gathered::Stopped(status));
            }
            take = payload.min(length - have);
            let at = self.base(block) + L::BLOCK_HEADER_SIZE;
            self.assembled
                .extend_from_slice(&self.window.data[at..at + take as usize]);
            have += take;
        }
        Ok(Gathered::Record {
            bytes: Bytes::Assembled,
            end_block: block,
            end_offset: head + take,
        })
    }

    /// Offset of `block` in the window (which holds it whole: [`RecordWalker::load`] said OK).
    #[inline]
    fn base(&self, block: u64) -> usize {
        ((block - self.window.first) * self.size) as usize
    }

    #[inline]
    fn u16_at(&self, at: usize) -> u16 {
        self.file
            .endian()
            .get_u16(&self.window.data, at)
            .unwrap_or(0)
    }

    #[inline]
    fn u32_at(&self, at: usize) -> u32 {
        self.file
            .endian()
            .get_u32(&self.window.data, at)
            .unwrap_or(0)
    }

    /// Make `block` present and check it (`RedoFile.read_block`): its status, or the
    /// error that reading it block by block raises.
    fn load(&mut self, block: u64) -> Result<BlockStatus> {
        let w = &mut self.window;
        if block >= w.first && block < w.ok_until {
            return Ok(BlockStatus::Ok);
        }
        if !(block >= w.first && block < w.first + w.count) {
            let count = SPAN_BLOCKS.min(self.last.saturating_sub(block) + 1).max(1);
            self.file.read_blocks(block, count, &mut w.data)?;
            w.first = block;
            w.count = w.data.len() as u64 / self.size;
            w.ok_until = block;
            if w.count == 0 {
                if !self.file.online {
                    return Err(Error::corrupt("truncated file")
                        .at("file", self.file.name())
                        .at("block", block)
                        .at("expected", self.size)
                        .at("found", w.data.len()));
                }
                return Ok(BlockStatus::NotYetWritten);
            }
        }
        let start = ((block - w.first) * self.size) as usize;
        let bytes = &w.data[start..start + self.size as usize];
        let status = check_block(bytes, block, self.file.endian(), &self.file.block_check())?;
        if status == BlockStatus::Ok && block == w.ok_until {
            w.ok_until = block + 1;
        }
        Ok(status)
    }
}

/// What [`scan`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalkTotals {
    pub records: u64,
    pub bytes: u64,
    pub vectors: u64,
}

/// Walk a whole log from `state` (record views only counted): the raw-read benchmark and
/// the fuzz targets use it.
pub fn scan(walker: &mut RecordWalker) -> Result<WalkTotals> {
    let mut totals = WalkTotals::default();
    while let Some(record) = walker.next_record()? {
        totals.records += 1;
        totals.bytes += u64::from(record.header.length);
        totals.vectors += record.slots.len() as u64;
    }
    Ok(totals)
}
