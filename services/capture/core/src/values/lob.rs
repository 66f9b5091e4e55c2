//! LOB locators (`values/lob.py`): the bytes a CLOB, NCLOB or BLOB column holds in a row,
//! and the storage character set of LOB data. Integers inside a locator are big-endian
//! on every platform; the layouts and their sources are in docs/REDO_FORMAT.md ("LOBs").

use super::text::Charset;
use crate::error::{Error, ErrorKind, Result, hex_upper};

const LOC_SIGNATURE: usize = 0; // u16: 0x0070 or 0x0054
const LOC_TYPE: usize = 4; // u8: 1 BLOB, 2 CLOB, 4 NCLOB
const LOC_FLAGS2: usize = 6; // u8: 0x80 data in a varying-width (UTF-16) set
const LOC_FLAGS3: usize = 7; // u8: 0x80 SecureFile, 0x40 UTF-16 LE
const LOC_LID: usize = 10; // 10 bytes: the LOB id
const LOC_LID_SIZE: usize = 10;
const LOC_HEAD: usize = 20;
const LOC_BODY_SIZE: usize = 20; // u16: bytes from offset 20 to the end
const SF_STORAGE: usize = 22; // u8: 0x48 in row, 0x40 out of row
const SF_INODE: usize = 23; // u8: 0x90 plain
const SF_INODE_SIZE: usize = 24; // u16: bytes from offset 26 to the end
const SF_LEN_FLAGS: usize = 26; // u8: low 2 bits length width - 1; high nibble extent style
const SF_LEN_FLAGS2: usize = 27; // u8: low nibble: bytes after the length - 1
const SF_LENGTH: usize = 28;
const SF_MIN: usize = 30;
const EXT_FLAGS: usize = 0;
const EXT_DBA: usize = 1;
const EXT_COUNT: usize = 5;
const BF_INODE_FLAGS: usize = 22;
const BF_LENGTH: usize = 28;
const BF_DATA: usize = 36;

const SIGNATURES: [u16; 2] = [0x0070, 0x0054];
const FLAGS2_VARYING: u8 = 0x80;
const FLAGS3_SECUREFILE: u8 = 0x80;
const FLAGS3_LITTLE_ENDIAN: u8 = 0x40;
const SF_IN_ROW: u8 = 0x48;
const SF_OUT_OF_ROW: u8 = 0x40;
const SF_INODE_PLAIN: u8 = 0x90;
const STYLE_MASK: u8 = 0xF0;
const STYLE_EXTENTS: u8 = 0x20;
const EXT_WIDE_COUNT: u8 = 0x20;
const BF_IN_VALUE: u16 = 0x0100;

/// Sets whose characters vary in width: a CLOB of such a database is stored in AL16UTF16.
pub const VARYING_WIDTH: [&str; 4] = ["AL32UTF8", "UTF8", "ZHS16GBK", "ZHS32GB18030"];
/// What a before image shows for an out-of-row LOB.
pub const NOT_IN_REDO: &str = "out-of-row LOB content is not in the redo";

/// The LOB type byte of a locator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LobKind {
    Blob = 1,
    Clob = 2,
    Nclob = 4,
}

impl LobKind {
    /// The enum member's name (`LobKind.BLOB.name`).
    pub fn name(self) -> &'static str {
        match self {
            LobKind::Blob => "BLOB",
            LobKind::Clob => "CLOB",
            LobKind::Nclob => "NCLOB",
        }
    }
}

/// Consecutive LOB-segment blocks holding part of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub dba: u64,
    pub blocks: u64,
}

/// A parsed LOB locator (`Locator`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator<'a> {
    pub kind: LobKind,
    pub lid: &'a [u8],
    pub securefile: bool,
    pub in_row: bool,
    pub length: Option<u64>,
    pub data: Option<&'a [u8]>,
    pub extents: Vec<Extent>,
    pub varying: bool,
    pub little_endian: bool,
    pub unsupported: Option<String>,
}

impl Locator<'_> {
    /// The LOB id as upper-case hex.
    pub fn lid_hex(&self) -> String {
        hex_upper(self.lid)
    }
}

/// A `LocatorError` (a `ParseError`).
fn locator_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::Parse, message)
}

fn u16_at(raw: &[u8], at: usize) -> u64 {
    raw.get(at..at + 2)
        .map_or(0, |b| u64::from(u16::from_be_bytes([b[0], b[1]])))
}

fn be(raw: &[u8]) -> u64 {
    raw.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

struct Head<'a> {
    kind: LobKind,
    lid: &'a [u8],
    varying: bool,
    little_endian: bool,
}

impl<'a> Head<'a> {
    fn locator(
        &self,
        securefile: bool,
        in_row: bool,
        length: Option<u64>,
        data: Option<&'a [u8]>,
        extents: Vec<Extent>,
        unsupported: Option<String>,
    ) -> Locator<'a> {
        Locator {
            kind: self.kind,
            lid: self.lid,
            securefile,
            in_row,
            length,
            data,
            extents,
            varying: self.varying,
            little_endian: self.little_endian,
            unsupported,
        }
    }
}

/// The locator `raw` (`parse_locator`); errors are `LocatorError`s (`ParseError`).
pub fn parse_locator(raw: &[u8]) -> Result<Locator<'_>> {
    if raw.len() < LOC_HEAD {
        return Err(
            locator_error("LOB locator shorter than its 20-byte head").at("length", raw.len())
        );
    }
    let signature = u16_at(raw, LOC_SIGNATURE);
    if !SIGNATURES.iter().any(|&s| u64::from(s) == signature) {
        return Err(locator_error("not a LOB locator signature").at("hex", hex_upper(&raw[..2])));
    }
    let kind = match raw[LOC_TYPE] {
        1 => LobKind::Blob,
        2 => LobKind::Clob,
        4 => LobKind::Nclob,
        other => return Err(locator_error("unknown LOB type byte").at("found", other)),
    };
    let head = Head {
        kind,
        lid: &raw[LOC_LID..LOC_LID + LOC_LID_SIZE],
        varying: raw[LOC_FLAGS2] & FLAGS2_VARYING != 0,
        little_endian: raw[LOC_FLAGS3] & FLAGS3_LITTLE_ENDIAN != 0,
    };
    let body = (raw.len() - LOC_BODY_SIZE) as u64;
    if raw.len() > LOC_HEAD && u16_at(raw, LOC_BODY_SIZE) != body {
        return Err(
            locator_error("LOB locator body size does not match its length")
                .at("found", u16_at(raw, LOC_BODY_SIZE))
                .at("expected", body),
        );
    }
    if raw[LOC_FLAGS3] & FLAGS3_SECUREFILE != 0 {
        securefile(raw, &head)
    } else {
        Ok(basicfile(raw, &head)?)
    }
}

fn basicfile<'a>(raw: &'a [u8], head: &Head<'a>) -> Result<Locator<'a>> {
    if raw.len() >= BF_DATA && u16_at(raw, BF_INODE_FLAGS) & u64::from(BF_IN_VALUE) != 0 {
        let length = u16_at(raw, BF_LENGTH);
        if BF_DATA as u64 + length != raw.len() as u64 {
            return Err(
                locator_error("BasicFile in-row LOB length does not match the locator")
                    .at("length", length)
                    .at("found", raw.len() - BF_DATA),
            );
        }
        return Ok(head.locator(
            false,
            true,
            Some(length),
            Some(&raw[BF_DATA..]),
            Vec::new(),
            None,
        ));
    }
    Ok(head.locator(
        false,
        false,
        None,
        None,
        Vec::new(),
        Some("BasicFile LOB stored out of row (its redo is not decoded)".into()),
    ))
}

fn securefile<'a>(raw: &'a [u8], head: &Head<'a>) -> Result<Locator<'a>> {
    if raw.len() < SF_MIN {
        return Err(locator_error("SecureFile locator too short")
            .at("length", raw.len())
            .at("expected", SF_MIN));
    }
    let (storage, inode) = (raw[SF_STORAGE], raw[SF_INODE]);
    if inode != SF_INODE_PLAIN {
        return Ok(head.locator(
            true,
            storage == SF_IN_ROW,
            None,
            None,
            Vec::new(),
            Some(format!(
                "SecureFile inode flags 0x{inode:02X} (compressed or another storage option \
                 this build does not decode)"
            )),
        ));
    }
    let inode_size = (raw.len() - SF_LEN_FLAGS) as u64;
    if u16_at(raw, SF_INODE_SIZE) != inode_size {
        return Err(
            locator_error("SecureFile inode size does not match the locator")
                .at("found", u16_at(raw, SF_INODE_SIZE))
                .at("expected", inode_size),
        );
    }
    let width = usize::from(raw[SF_LEN_FLAGS] & 0x03) + 1;
    let style = raw[SF_LEN_FLAGS] & STYLE_MASK;
    let skip = usize::from(raw[SF_LEN_FLAGS2] & 0x0F);
    if skip > 1 {
        return Err(
            locator_error("unknown SecureFile length flags").at("found", raw[SF_LEN_FLAGS2])
        );
    }
    let at = SF_LENGTH + width + skip + 1;
    if at > raw.len() {
        return Err(
            locator_error("SecureFile locator ends inside its length").at("length", raw.len())
        );
    }
    let length = be(&raw[SF_LENGTH..SF_LENGTH + width]);
    if storage == SF_IN_ROW {
        if at as u64 + length != raw.len() as u64 {
            return Err(
                locator_error("in-row LOB length does not match the locator")
                    .at("length", length)
                    .at("found", raw.len() - at),
            );
        }
        return Ok(head.locator(true, true, Some(length), Some(&raw[at..]), Vec::new(), None));
    }
    if storage != SF_OUT_OF_ROW {
        return Ok(head.locator(
            true,
            false,
            Some(length),
            None,
            Vec::new(),
            Some(format!(
                "SecureFile storage flags 0x{storage:02X} not known"
            )),
        ));
    }
    if length == 0 && at == raw.len() {
        return Ok(head.locator(true, false, Some(0), None, Vec::new(), None));
    }
    if style != STYLE_EXTENTS {
        return Ok(head.locator(
            true,
            false,
            Some(length),
            None,
            Vec::new(),
            Some(format!(
                "SecureFile extent style 0x{style:02X} (extent list outside the locator) is \
                 not decoded"
            )),
        ));
    }
    let extents = extents(raw, at)?;
    Ok(head.locator(true, false, Some(length), None, extents, None))
}

fn extents(raw: &[u8], mut at: usize) -> Result<Vec<Extent>> {
    if at >= raw.len() {
        return Err(locator_error("SecureFile locator has no extent list").at("length", raw.len()));
    }
    let count = usize::from(raw[at]) + 1;
    at += 1;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let wide = at < raw.len() && raw[at + EXT_FLAGS] & EXT_WIDE_COUNT != 0;
        let size = EXT_COUNT + if wide { 2 } else { 1 };
        if at + size > raw.len() {
            return Err(
                locator_error("SecureFile extent list runs past the locator")
                    .at("extents", count)
                    .at("length", raw.len()),
            );
        }
        out.push(Extent {
            dba: be(&raw[at + EXT_DBA..at + EXT_DBA + 4]),
            blocks: be(&raw[at + EXT_COUNT..at + size]),
        });
        at += size;
    }
    if at != raw.len() {
        return Err(locator_error("bytes left after the SecureFile extent list")
            .at("found", raw.len() - at));
    }
    Ok(out)
}

/// The locator type a column of `COL$.TYPE#` 112/113 must carry.
pub fn lob_kind(type_code: u32, charset_form: u32) -> LobKind {
    if type_code == 113 {
        LobKind::Blob
    } else if charset_form == 2 {
        LobKind::Nclob
    } else {
        LobKind::Clob
    }
}

/// The character set a CLOB's or NCLOB's stored data is in (`storage_charset`):
/// `Ok(Err(name))` for a database set the core has no codec for (`UnknownCharset`).
pub fn storage_charset(
    locator: &Locator<'_>,
    database: &str,
) -> Result<std::result::Result<Charset, String>> {
    if locator.little_endian {
        return Err(locator_error(
            "UTF-16 little-endian LOB data (created by Oracle 9i) is not decoded",
        )
        .at("lid", locator.lid_hex()));
    }
    if locator.kind == LobKind::Nclob {
        return Ok(Ok(Charset::Al16Utf16));
    }
    let upper = database.to_uppercase();
    let varying = VARYING_WIDTH.contains(&upper.as_str());
    if varying != locator.varying {
        return Err(locator_error(
            "CLOB locator and database character set disagree on the storage encoding",
        )
        .at("lid", locator.lid_hex())
        .at("database", database)
        .at(
            "locator_varying",
            if locator.varying { "True" } else { "False" },
        ));
    }
    if varying {
        return Ok(Ok(Charset::Al16Utf16));
    }
    Ok(Charset::by_name(&upper).ok_or_else(|| database.to_owned()))
}
