//! Where open transactions' pieces wait for their commit (`redo/txn/store.py`,
//! `spill.py`). [`ChangeStore`] is the seam: pieces are appended per XID, read once at
//! commit in redo order (SCN, sub-SCN; appended order among equals), dropped on
//! rollback, and a partial rollback removes the newest piece that matches.
//! [`MemoryStore`] keeps them in memory; [`SpillingStore`] keeps each transaction in
//! memory up to a threshold, then in its own spill file (0600, appended records; a
//! partial rollback leaves a tombstone in memory; commit reads the file in redo order
//! with only each piece's key and offset in memory).

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::sync::Arc;

use super::piece::{Fragment, LobRef, Piece, PieceKind, Raw, Values, in_redo_order, xid_text};
use crate::error::{Error, ErrorKind, Result};
use crate::ops::{IntMap, Xid};
use crate::records::Rba;

/// Buffered pieces per transaction.
pub trait ChangeStore: Send + Sync {
    /// Add a piece at the end of `xid`'s list.
    fn append(&mut self, xid: Xid, piece: Piece) -> Result<()>;
    /// `xid`'s pieces in redo order.
    fn pieces(&mut self, xid: Xid, each: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()>;
    /// `xid`'s pieces in redo order, taken out of the store (a commit's last look).
    fn take(&mut self, xid: Xid, each: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()>;
    /// Remove and return the most recent piece of `xid` that `matches` accepts.
    fn remove_last(&mut self, xid: Xid, matches: &dyn Fn(&Piece) -> bool) -> Result<Option<Piece>>;
    /// Forget every piece of `xid`.
    fn drop_xid(&mut self, xid: Xid);
    /// How many pieces `xid` holds.
    fn count(&self, xid: Xid) -> usize;
    /// Estimated bytes held in memory.
    fn memory_bytes(&self) -> u64 {
        0
    }
    /// Transactions on disk now.
    fn spilled_transactions(&self) -> u64 {
        0
    }
    /// Bytes written to spill files so far.
    fn spilled_bytes(&self) -> u64 {
        0
    }
    /// Forget everything and remove what is on disk (after a failed attempt).
    fn discard(&mut self) {}
}

/// Bytes: the piece's fixed part, its tuples and ints around the value bytes.
pub const PIECE_OVERHEAD: u64 = 200;

/// A cheap estimate of the memory a buffered piece holds (`piece_size`).
pub fn piece_size(piece: &Piece) -> u64 {
    let mut size = PIECE_OVERHEAD;
    let mut add = |values: &Values| {
        for (_, raw) in values {
            size += 40 + raw.len() as u64;
        }
    };
    add(&piece.before);
    add(&piece.after);
    add(&piece.supp);
    for r in &piece.rows {
        add(r);
    }
    size
}

fn key_of(xid: Xid) -> (u16, u16, u32) {
    (xid.usn, xid.slot, xid.sqn.unwrap_or(u32::MAX))
}

/// Pieces in per-XID lists in memory (`MemoryStore`).
#[derive(Debug, Default)]
pub struct MemoryStore {
    open: IntMap<(u16, u16, u32), Vec<Piece>>,
}

impl ChangeStore for MemoryStore {
    fn append(&mut self, xid: Xid, piece: Piece) -> Result<()> {
        self.open.entry(key_of(xid)).or_default().push(piece);
        Ok(())
    }

    fn pieces(&mut self, xid: Xid, each: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
        let mut list = self.open.get(&key_of(xid)).cloned().unwrap_or_default();
        in_redo_order(&mut list);
        list.into_iter().try_for_each(each)
    }

    fn take(&mut self, xid: Xid, each: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
        let mut list = self.open.remove(&key_of(xid)).unwrap_or_default();
        in_redo_order(&mut list);
        list.into_iter().try_for_each(each)
    }

    fn remove_last(&mut self, xid: Xid, matches: &dyn Fn(&Piece) -> bool) -> Result<Option<Piece>> {
        let Some(items) = self.open.get_mut(&key_of(xid)) else {
            return Ok(None);
        };
        Ok(items.iter().rposition(matches).map(|i| items.remove(i)))
    }

    fn drop_xid(&mut self, xid: Xid) {
        self.open.remove(&key_of(xid));
    }

    fn count(&self, xid: Xid) -> usize {
        self.open.get(&key_of(xid)).map_or(0, Vec::len)
    }
}

#[derive(Debug)]
struct Spilled {
    path: PathBuf,
    file: File,
    offsets: Vec<u64>,
    keys: Vec<(u64, u64)>,
    removed: Vec<bool>,
    live: usize,
    /// Bytes written so far (where the next piece goes).
    end: u64,
}

#[derive(Debug, Default)]
struct Open {
    memory: Vec<Piece>,
    size: u64,
    spilled: Option<Spilled>,
}

/// In memory up to `threshold` bytes per transaction, then on disk (`SpillingStore`).
///
/// A full disk (or quota) while spilling is `SpillDiskFull` naming the file, the
/// transaction, the bytes it needed and those already spilled; every spill file of the
/// store is removed at once (their transactions are read from redo again when capture
/// retries from its checkpoint). Writes go straight to the file (`pwrite`), so a full
/// disk shows where it happens, not at a later flush.
#[derive(Debug)]
pub struct SpillingStore {
    directory: PathBuf,
    threshold: u64,
    open: IntMap<(u16, u16, u32), Open>,
    spilled_bytes: u64,
    buffer: Vec<u8>,
}

fn io_error(err: std::io::Error, path: &std::path::Path) -> Error {
    Error::from(err).at("file", path.display().to_string())
}

/// No space left on the device, or the disk quota exceeded (`is_disk_full`).
fn is_disk_full(err: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(err.raw_os_error(), Some(ENOSPC | EDQUOT))
}

/// `strerror` of an OS error (Rust's text without its " (os error N)").
fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

impl SpillingStore {
    /// A store spilling into `directory` (made if missing; spill files a crash left
    /// there are removed: their transactions are rebuilt from redo).
    pub fn new(directory: PathBuf, threshold: u64) -> Result<Self> {
        std::fs::create_dir_all(&directory).map_err(|e| io_error(e, &directory))?;
        let entries = std::fs::read_dir(&directory).map_err(|e| io_error(e, &directory))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "spill") {
                std::fs::remove_file(&path).map_err(|e| io_error(e, &path))?;
            }
        }
        Ok(SpillingStore {
            directory,
            threshold,
            open: IntMap::default(),
            spilled_bytes: 0,
            buffer: Vec::new(),
        })
    }

    /// Close and remove every spill file (the store is not used again).
    pub fn discard(&mut self) {
        for (_, entry) in self.open.drain() {
            if let Some(spilled) = entry.spilled {
                let _ = std::fs::remove_file(&spilled.path); // gone already: nothing to do
            }
        }
    }

    /// A write failed: a full disk becomes `SpillDiskFull` after every spill file of the
    /// store is removed; other errors pass as they are (with the file).
    fn failed(
        &mut self,
        err: std::io::Error,
        xid: Xid,
        path: &std::path::Path,
        needed: u64,
    ) -> Error {
        if !is_disk_full(&err) {
            return io_error(err, path);
        }
        let spilled: u64 = self
            .open
            .values()
            .filter_map(|e| e.spilled.as_ref().map(|s| s.end))
            .sum();
        self.discard();
        Error::new(
            ErrorKind::SpillDiskFull,
            "the spill directory's disk is full: a large open transaction could not be \
             written out; its spill files are removed and capture retries from its \
             checkpoint once there is room",
        )
        .at("path", path.display().to_string())
        .at("xid", xid_text(&xid))
        .at("needed_bytes", needed)
        .at("spilled_bytes", spilled)
        .at("error", strerror(&err))
    }

    fn spill(&mut self, xid: Xid) -> Result<()> {
        let path = self.directory.join(format!("{}.spill", xid_text(&xid)));
        let mut options = OpenOptions::new();
        options.create(true).truncate(true).read(true).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let size = self.open.get(&key_of(xid)).map_or(0, |e| e.size);
        let file = match options.open(&path) {
            Ok(file) => file,
            Err(err) => return Err(self.failed(err, xid, &path, size)),
        };
        let entry = self.open.entry(key_of(xid)).or_default();
        let memory = std::mem::take(&mut entry.memory);
        entry.size = 0;
        entry.spilled = Some(Spilled {
            path,
            file,
            offsets: Vec::new(),
            keys: Vec::new(),
            removed: Vec::new(),
            live: 0,
            end: 0,
        });
        for piece in memory {
            self.write(xid, &piece)?;
        }
        Ok(())
    }

    fn write(&mut self, xid: Xid, piece: &Piece) -> Result<()> {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        buffer.extend_from_slice(&[0; 4]);
        encode_piece(piece, &mut buffer);
        let length = u32::try_from(buffer.len() - 4)
            .map_err(|_| Error::new(ErrorKind::Value, "a piece too large to spill"))?;
        buffer[..4].copy_from_slice(&length.to_le_bytes());
        let written = {
            let Some(spilled) = self
                .open
                .get_mut(&key_of(xid))
                .and_then(|e| e.spilled.as_mut())
            else {
                self.buffer = buffer;
                return Ok(());
            };
            write_at(&spilled.file, &buffer, spilled.end)
                .map(|()| {
                    spilled.offsets.push(spilled.end);
                    spilled.keys.push(piece.key());
                    spilled.removed.push(false);
                    spilled.live += 1;
                    spilled.end += buffer.len() as u64;
                })
                .map_err(|err| (err, spilled.path.clone()))
        };
        let needed = buffer.len() as u64;
        self.buffer = buffer;
        match written {
            Ok(()) => {
                self.spilled_bytes += needed;
                Ok(())
            }
            Err((err, path)) => Err(self.failed(err, xid, &path, needed)),
        }
    }

    fn read(spilled: &Spilled, index: usize) -> Result<Piece> {
        let at = spilled.offsets[index];
        let mut head = [0u8; 4];
        read_at(&spilled.file, &mut head, at).map_err(|e| io_error(e, &spilled.path))?;
        let mut data = vec![0u8; u32::from_le_bytes(head) as usize];
        read_at(&spilled.file, &mut data, at + 4).map_err(|e| io_error(e, &spilled.path))?;
        decode_piece(&data)
    }
}

#[cfg(unix)]
fn write_at(file: &File, data: &[u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(data, at)
}

#[cfg(unix)]
fn read_at(file: &File, data: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(data, at)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, data: &[u8], at: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(at))?;
    file.write_all(data)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, data: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(data)
}

impl ChangeStore for SpillingStore {
    fn append(&mut self, xid: Xid, piece: Piece) -> Result<()> {
        let entry = self.open.entry(key_of(xid)).or_default();
        if entry.spilled.is_some() {
            return self.write(xid, &piece);
        }
        entry.size += piece_size(&piece);
        entry.memory.push(piece);
        if entry.size > self.threshold {
            self.spill(xid)?;
        }
        Ok(())
    }

    fn pieces(&mut self, xid: Xid, each: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
        let Some(entry) = self.open.get(&key_of(xid)) else {
            return Ok(());
        };
        let Some(spilled) = entry.spilled.as_ref() else {
            let mut list = entry.memory.clone();
            in_redo_order(&mut list);
            return list.into_iter().try_for_each(each);
        };
        let mut order: Vec<usize> = (0..spilled.keys.len()).collect();
        order.sort_by_key(|&i| spilled.keys[i]); // stable: appended order among equals
        for index in order {
            if !spilled.removed[index] {
                each(Self::read(spilled, index)?)?;
            }
        }
        Ok(())
    }

    fn take(&mut self, xid: Xid, each: &mut dyn FnMut(Piece) -> Result<()>) -> Result<()> {
        let Some(entry) = self.open.get_mut(&key_of(xid)) else {
            return Ok(());
        };
        if entry.spilled.is_none() {
            let mut list = std::mem::take(&mut entry.memory);
            self.drop_xid(xid);
            in_redo_order(&mut list);
            return list.into_iter().try_for_each(each);
        }
        let found = self.pieces(xid, each);
        self.drop_xid(xid);
        found
    }

    fn remove_last(&mut self, xid: Xid, matches: &dyn Fn(&Piece) -> bool) -> Result<Option<Piece>> {
        let Some(entry) = self.open.get_mut(&key_of(xid)) else {
            return Ok(None);
        };
        let Some(spilled) = entry.spilled.as_mut() else {
            let Some(i) = entry.memory.iter().rposition(matches) else {
                return Ok(None);
            };
            let piece = entry.memory.remove(i);
            entry.size -= piece_size(&piece);
            return Ok(Some(piece));
        };
        for index in (0..spilled.offsets.len()).rev() {
            if spilled.removed[index] {
                continue;
            }
            let piece = Self::read(spilled, index)?;
            if matches(&piece) {
                spilled.removed[index] = true;
                spilled.live -= 1;
                return Ok(Some(piece));
            }
        }
        Ok(None)
    }

    fn drop_xid(&mut self, xid: Xid) {
        if let Some(entry) = self.open.remove(&key_of(xid))
            && let Some(spilled) = entry.spilled
        {
            let path = spilled.path.clone();
            drop(spilled);
            let _ = std::fs::remove_file(path); // gone already: nothing to do
        }
    }

    fn count(&self, xid: Xid) -> usize {
        match self.open.get(&key_of(xid)) {
            None => 0,
            Some(Open {
                spilled: Some(s), ..
            }) => s.live,
            Some(e) => e.memory.len(),
        }
    }

    fn memory_bytes(&self) -> u64 {
        self.open.values().map(|e| e.size).sum()
    }

    fn spilled_transactions(&self) -> u64 {
        self.open.values().filter(|e| e.spilled.is_some()).count() as u64
    }

    fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    fn discard(&mut self) {
        SpillingStore::discard(self);
    }
}

impl Drop for SpillingStore {
    fn drop(&mut self) {
        self.discard();
    }
}

// --- the spill record: a private, versionless format (files never outlive the process) ---

fn put_u64(out: &mut Vec<u8>, v: u64) {
    let mut v = v;
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u64(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_opt(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            put_u64(out, v);
        }
    }
}

fn put_pair(out: &mut Vec<u8>, v: Option<(u64, u64)>) {
    match v {
        None => out.push(0),
        Some((a, b)) => {
            out.push(1);
            put_u64(out, a);
            put_u64(out, b);
        }
    }
}

fn put_str(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_bytes(out, s.as_bytes());
        }
    }
}

fn put_values(out: &mut Vec<u8>, values: &Values) {
    put_u64(out, values.len() as u64);
    for (col, raw) in values {
        put_i64(out, *col);
        match raw {
            Raw::Null => out.push(0),
            Raw::Bytes(b) => {
                out.push(1);
                put_bytes(out, b);
            }
            Raw::NotInRedo(r) => {
                out.push(2);
                put_bytes(out, r.as_bytes());
            }
            Raw::Part(f) => {
                out.push(3);
                put_bytes(out, &f.data);
                out.push(u8::from(f.continues) | u8::from(f.goes_on) << 1);
                put_u64(out, f.at.0);
                put_u64(out, f.at.1);
                put_pair(out, f.next);
            }
        }
    }
}

const KINDS: [PieceKind; 10] = [
    PieceKind::Row,
    PieceKind::Multi,
    PieceKind::Direct,
    PieceKind::Ddl,
    PieceKind::Undecoded,
    PieceKind::Iot,
    PieceKind::LobPage,
    PieceKind::LobWrite,
    PieceKind::LobChange,
    PieceKind::LobVoid,
];

/// A piece as a spill record.
pub fn encode_piece(p: &Piece, out: &mut Vec<u8>) {
    out.push(KINDS.iter().position(|k| *k == p.kind).unwrap_or(0) as u8);
    put_u64(out, u64::from(p.rba.sequence));
    put_u64(out, p.rba.block);
    put_u64(out, p.rba.offset);
    put_u64(out, p.scn);
    put_u64(out, p.sub_scn);
    put_opt(out, p.con_id);
    put_u64(out, p.obj);
    put_u64(out, p.data_obj);
    put_i64(out, p.redo_code);
    put_i64(out, p.undo_code);
    put_u64(out, p.bdba);
    put_i64(out, p.slot);
    out.extend_from_slice(&[p.fb, p.supp_type, p.supp_fb, u8::from(p.compressed)]);
    put_pair(out, p.row);
    put_values(out, &p.before);
    put_values(out, &p.after);
    put_values(out, &p.supp);
    put_u64(out, p.rows.len() as u64);
    for r in &p.rows {
        put_values(out, r);
    }
    put_u64(out, p.slots.len() as u64);
    for s in &p.slots {
        put_i64(out, *s);
    }
    put_str(out, p.ddl.as_deref());
    match p.ddl_command {
        None => out.push(0),
        Some(command) => {
            out.push(1);
            put_u64(out, u64::from(command));
        }
    }
    put_str(out, p.undecoded.as_deref());
    put_str(out, p.before_rest.as_deref());
    put_str(out, p.after_rest.as_deref());
    match &p.lob {
        None => out.push(0),
        Some(l) => {
            out.push(1);
            put_bytes(out, &l.lid);
            put_i64(out, l.column);
            put_i64(out, l.op);
            match l.length {
                None => out.push(0),
                Some(n) => {
                    out.push(1);
                    put_i64(out, n);
                }
            }
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

fn damaged() -> Error {
    Error::corrupt("spill file damaged: a piece does not read back")
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.data.get(self.at).ok_or_else(damaged)?;
        self.at += 1;
        Ok(b)
    }

    fn u64(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7F).checked_shl(shift).ok_or_else(damaged)?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(damaged())
    }

    fn i64(&mut self) -> Result<i64> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn bytes(&mut self) -> Result<&[u8]> {
        let n = usize::try_from(self.u64()?).map_err(|_| damaged())?;
        let end = self.at.checked_add(n).ok_or_else(damaged)?;
        let b = self.data.get(self.at..end).ok_or_else(damaged)?;
        self.at = end;
        Ok(b)
    }

    fn opt(&mut self) -> Result<Option<u64>> {
        Ok(if self.byte()? == 0 {
            None
        } else {
            Some(self.u64()?)
        })
    }

    fn pair(&mut self) -> Result<Option<(u64, u64)>> {
        Ok(if self.byte()? == 0 {
            None
        } else {
            Some((self.u64()?, self.u64()?))
        })
    }

    fn text(&mut self) -> Result<Option<String>> {
        if self.byte()? == 0 {
            return Ok(None);
        }
        let b = self.bytes()?;
        Ok(Some(String::from_utf8(b.to_vec()).map_err(|_| damaged())?))
    }

    fn values(&mut self) -> Result<Values> {
        let n = self.u64()?;
        let mut out = Vec::with_capacity(usize::try_from(n.min(4096)).unwrap_or(0));
        for _ in 0..n {
            let col = self.i64()?;
            let raw = match self.byte()? {
                0 => Raw::Null,
                1 => Raw::Bytes(self.bytes()?.into()),
                2 => Raw::NotInRedo(Arc::from(
                    std::str::from_utf8(self.bytes()?).map_err(|_| damaged())?,
                )),
                3 => {
                    let data: Box<[u8]> = self.bytes()?.into();
                    let flags = self.byte()?;
                    let at = (self.u64()?, self.u64()?);
                    Raw::Part(Box::new(Fragment {
                        data,
                        continues: flags & 1 != 0,
                        goes_on: flags & 2 != 0,
                        at,
                        next: self.pair()?,
                    }))
                }
                _ => return Err(damaged()),
            };
            out.push((col, raw));
        }
        Ok(out)
    }
}

/// A spill record back into its piece.
pub fn decode_piece(data: &[u8]) -> Result<Piece> {
    let mut r = Reader { data, at: 0 };
    let kind = *KINDS.get(usize::from(r.byte()?)).ok_or_else(damaged)?;
    let rba = Rba {
        sequence: u32::try_from(r.u64()?).map_err(|_| damaged())?,
        block: r.u64()?,
        offset: r.u64()?,
    };
    let mut p = Piece::empty(
        kind,
        &super::piece::At {
            rba,
            scn: r.u64()?,
            sub_scn: r.u64()?,
        },
    );
    p.con_id = r.opt()?;
    p.obj = r.u64()?;
    p.data_obj = r.u64()?;
    p.redo_code = r.i64()?;
    p.undo_code = r.i64()?;
    p.bdba = r.u64()?;
    p.slot = r.i64()?;
    p.fb = r.byte()?;
    p.supp_type = r.byte()?;
    p.supp_fb = r.byte()?;
    p.compressed = r.byte()? != 0;
    p.row = r.pair()?;
    p.before = r.values()?;
    p.after = r.values()?;
    p.supp = r.values()?;
    let n = r.u64()?;
    for _ in 0..n {
        p.rows.push(r.values()?);
    }
    let n = r.u64()?;
    for _ in 0..n {
        p.slots.push(r.i64()?);
    }
    p.ddl = r.text()?;
    if r.byte()? != 0 {
        p.ddl_command = Some(u16::try_from(r.u64()?).map_err(|_| damaged())?);
    }
    p.undecoded = r.text()?;
    p.before_rest = r.text()?.map(Arc::from);
    p.after_rest = r.text()?.map(Arc::from);
    if r.byte()? != 0 {
        let lid: Box<[u8]> = r.bytes()?.into();
        let column = r.i64()?;
        let op = r.i64()?;
        let length = if r.byte()? == 0 { None } else { Some(r.i64()?) };
        p.lob = Some(LobRef {
            lid,
            column,
            op,
            length,
        });
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::piece::At;

    fn piece(scn: u64, data: &[u8]) -> Piece {
        let at = At {
            rba: Rba {
                sequence: 1,
                block: 2,
                offset: 16,
            },
            scn,
            sub_scn: 0,
        };
        let mut p = Piece::empty(PieceKind::Row, &at);
        p.after = vec![(1, Raw::Bytes(data.into()))];
        p
    }

    #[test]
    fn a_spilled_transaction_reads_back_after_removals_and_appends() {
        let dir = std::env::temp_dir().join(format!("drcore-spill-{}", std::process::id()));
        let mut store = SpillingStore::new(dir.clone(), 0).unwrap();
        let xid = Xid {
            usn: 1,
            slot: 2,
            sqn: Some(3),
        };
        for n in 0..3 {
            store.append(xid, piece(10 + n, &[n as u8; 5])).unwrap();
        }
        let gone = store.remove_last(xid, &|p| p.scn == 11).unwrap().unwrap();
        assert_eq!(gone.scn, 11);
        store.append(xid, piece(5, b"late")).unwrap();
        assert_eq!(store.count(xid), 3);
        let mut seen = Vec::new();
        store
            .pieces(xid, &mut |p| {
                seen.push(p.scn);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, vec![5, 10, 12]);
        store.drop_xid(xid);
        assert_eq!(store.count(xid), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_piece_survives_the_spill_record() {
        let mut p = piece(7, b"abc");
        p.before = vec![
            (-3, Raw::Null),
            (2, Raw::NotInRedo(Arc::from("why"))),
            (
                4,
                Raw::Part(Box::new(Fragment {
                    data: b"xy".to_vec().into(),
                    continues: true,
                    goes_on: false,
                    at: (9, 1),
                    next: Some((10, 2)),
                })),
            ),
        ];
        p.rows = vec![vec![(1, Raw::Bytes(b"r".to_vec().into()))]];
        p.slots = vec![1, -2];
        p.ddl = Some("create table t (a int)".into());
        p.ddl_command = Some(1);
        p.lob = Some(LobRef {
            lid: b"0123456789".to_vec().into(),
            column: 3,
            op: 1,
            length: Some(-1),
        });
        p.con_id = Some(3);
        p.row = Some((1, 2));
        let mut out = Vec::new();
        encode_piece(&p, &mut out);
        assert_eq!(decode_piece(&out).unwrap(), p);
        assert!(decode_piece(&out[..out.len() - 1]).is_err());
    }
}
