"""LOB locators (the bytes a CLOB, NCLOB or BLOB column holds in a row) and the
storage encoding of LOB data.

A row never holds a LOB's data directly: it holds a locator. An in-row LOB carries its
data inside the locator; an out-of-row SecureFile LOB carries its length and the list of
LOB-segment blocks (extents) that hold the data, whose redo is layer 26 (see
:mod:`drcapture.redo.ops.kdli`). :func:`parse_locator` is pure and reads every layout
this build knows; anything else is a :class:`LocatorError` or a locator marked
:attr:`Locator.unsupported` (what capture cannot decode, with the reason).

Every offset below is from the start of the locator; the integers inside a locator are
big-endian on every platform. Sources are in docs/REDO_FORMAT.md ("LOBs"): "19c log" is
the real archived log described in ``shared/notes/lob-redo-facts.md`` §4, ojdbc-types is
averemee-si/ojdbc-types (``LobLocator.java`` and the real locators of
``LobLocatorTest.java``), OLR is bersler/OpenLogReplicator (``Builder.h`` parseLob),
python-oracledb is oracle/python-oracledb (``impl/thin/lob.pyx`` ``_get_encoding``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, NamedTuple

from drcommon.errors import ParseError

from drcapture.dictionary.model import Charsets
from drcapture.values.text import Charset, charset

# --- The common head (20 bytes) ----------------------------------------------------------
LOC_SIGNATURE: Final = 0  # u16: 0x0070 (19c log, ojdbc-types; ojdbc-types also takes 0x0054)
LOC_VERSION: Final = 2  # u16: 1 in every locator seen; meaning unknown
LOC_TYPE: Final = 4  # u8: 1 BLOB, 2 CLOB, 4 NCLOB (ojdbc-types)
LOC_FLAGS1: Final = 5  # u8: 0x0c in every locator with an inode; 0x08 BasicFile without one
LOC_FLAGS2: Final = 6  # u8: 0x80 = data in a varying-width (UTF-16) set (python-oracledb)
LOC_FLAGS3: Final = 7  # u8: 0x80 SecureFile (ojdbc-types); 0x40 UTF-16 LE (python-oracledb)
LOC_WIDTH: Final = 8  # u16: 1 BLOB, 2 CLOB/NCLOB in every locator seen; meaning unknown
LOC_LID: Final = 10  # 10 bytes: the LOB id (the same bytes as in 26.6 and 11.17)
LOC_LID_SIZE: Final = 10
LOC_HEAD: Final = 20  # a locator without an inode ends here
LOC_BODY_SIZE: Final = 20  # u16: bytes from offset 20 to the end (19c log, OLR)
# --- SecureFile (LOC_FLAGS3 & 0x80) --------------------------------------------------------
SF_STORAGE: Final = 22  # u8: 0x48 data in row, 0x40 out of row (ojdbc-types, 19c log)
SF_INODE: Final = 23  # u8: 0x90 valid, no compression (0x92/0xD2 compression: ojdbc-types)
SF_INODE_SIZE: Final = 24  # u16: bytes from offset 26 to the end (19c log)
SF_LEN_FLAGS: Final = 26  # u8: low 2 bits = length width - 1; high nibble = extent style (OLR)
SF_LEN_FLAGS2: Final = 27  # u8: low nibble 0 = one byte follows the length, 1 = two (OLR)
SF_LENGTH: Final = 28  # 1..4 bytes: LOB length in bytes (19c log: 0x19dd15 = 1,694,997)
SF_MIN: Final = 30
# After the length comes one byte (two when LEN_FLAGS2 says so) whose meaning is unknown:
# 0 for an empty LOB, 1 otherwise in every locator seen (ojdbc-types, 19c log).
# Out of row, style 0x20: u8 extent count - 1, then per extent:
EXT_FLAGS: Final = 0  # u8: 0x00/0x01/0x02 seen, meaning unknown; 0x20 = u16 block count (OLR)
EXT_DBA: Final = 1  # u32: first block of the extent
EXT_COUNT: Final = 5  # u8 (u16 with EXT_FLAGS & 0x20): blocks in the extent
# --- BasicFile (LOC_FLAGS3 & 0x80 clear) ----------------------------------------------------
BF_INODE_FLAGS: Final = 22  # u16: 0x0900 = data in row, "in value" (ojdbc-types; OLR 0x0100)
BF_LENGTH: Final = 28  # u16: bytes of data in row (ojdbc-types, OLR)
BF_DATA: Final = 36  # in-row data (ojdbc-types, OLR)

SIGNATURES: Final = (0x0070, 0x0054)
FLAGS1_INODE: Final = 0x04  # without it the data sits in the LOB index (OLR "in-index")
FLAGS2_VARYING: Final = 0x80
FLAGS3_SECUREFILE: Final = 0x80
FLAGS3_LITTLE_ENDIAN: Final = 0x40
SF_IN_ROW: Final = 0x48
SF_OUT_OF_ROW: Final = 0x40
SF_INODE_PLAIN: Final = 0x90
STYLE_MASK: Final = 0xF0
STYLE_EXTENTS: Final = 0x20  # extent list in the locator (OLR "style 1")
STYLE_LIST_PAGE: Final = 0x40  # extent list in a separate block (OLR "style 2")
EXT_WIDE_COUNT: Final = 0x20
BF_IN_VALUE: Final = 0x0100
# Character sets whose characters vary in width: a CLOB of such a database is stored in
# AL16UTF16 (Oracle8i/9i "LOBs" guides: "CLOB/NCLOB values are stored ... using the fixed
# width 2 byte Unicode character set if the database CHAR/NCHAR character set is
# varying-width"; OCI-24812). Single-byte sets store CLOBs in the database character set.
VARYING_WIDTH: Final = frozenset({"AL32UTF8", "UTF8", "ZHS16GBK", "ZHS32GB18030"})
UTF16: Final = "AL16UTF16"
NOT_IN_REDO: Final = "out-of-row LOB content is not in the redo"


class LobKind(IntEnum):
    """The LOB type byte of a locator."""

    BLOB = 1
    CLOB = 2
    NCLOB = 4


class LocatorError(ParseError):
    """Bytes that are not a LOB locator of any layout this build knows."""


@dataclass(frozen=True, slots=True)
class Extent:
    """Consecutive LOB-segment blocks holding part of the data, in data order."""

    dba: int
    blocks: int


@dataclass(frozen=True, slots=True)
class Locator:
    """A parsed LOB locator.

    ``data`` is the in-row data (None out of row); ``length`` is the LOB's length in
    bytes when the locator says it. ``unsupported`` names why the data cannot be had
    from this locator and its redo (a layout or storage option this build does not
    decode); None when it can.
    """

    kind: LobKind
    lid: bytes
    securefile: bool
    in_row: bool
    length: int | None
    data: bytes | None
    extents: tuple[Extent, ...]
    varying: bool  # LOC_FLAGS2: the data is UTF-16
    little_endian: bool  # LOC_FLAGS3: UTF-16 little-endian
    unsupported: str | None = None

    @property
    def lid_hex(self) -> str:
        """The LOB id as upper-case hex (how errors and logs name it)."""
        return self.lid.hex().upper()


def _u16(buf: bytes, at: int) -> int:
    return int.from_bytes(buf[at : at + 2], "big")


class _Head(NamedTuple):
    kind: LobKind
    lid: bytes
    varying: bool
    little_endian: bool

    def locator(self, *, securefile: bool, in_row: bool, length: int | None,
                data: bytes | None = None, extents: tuple[Extent, ...] = (),
                unsupported: str | None = None) -> Locator:
        return Locator(kind=self.kind, lid=self.lid, securefile=securefile, in_row=in_row,
                       length=length, data=data, extents=extents, varying=self.varying,
                       little_endian=self.little_endian, unsupported=unsupported)


def parse_locator(raw: bytes) -> Locator:
    """The locator ``raw`` (a LOB column's bytes in a row piece)."""
    if len(raw) < LOC_HEAD:
        raise LocatorError("LOB locator shorter than its 20-byte head", length=len(raw))
    if _u16(raw, LOC_SIGNATURE) not in SIGNATURES:
        raise LocatorError("not a LOB locator signature", hex=raw[:2].hex().upper())
    try:
        kind = LobKind(raw[LOC_TYPE])
    except ValueError:
        raise LocatorError("unknown LOB type byte", found=raw[LOC_TYPE]) from None
    head = _Head(kind, bytes(raw[LOC_LID : LOC_LID + LOC_LID_SIZE]),
                 bool(raw[LOC_FLAGS2] & FLAGS2_VARYING),
                 bool(raw[LOC_FLAGS3] & FLAGS3_LITTLE_ENDIAN))
    if len(raw) > LOC_HEAD and _u16(raw, LOC_BODY_SIZE) != len(raw) - LOC_BODY_SIZE:
        raise LocatorError("LOB locator body size does not match its length",
                           found=_u16(raw, LOC_BODY_SIZE), expected=len(raw) - LOC_BODY_SIZE)
    if raw[LOC_FLAGS3] & FLAGS3_SECUREFILE:
        return _securefile(raw, head)
    return _basicfile(raw, head)


def _basicfile(raw: bytes, head: _Head) -> Locator:
    if len(raw) >= BF_DATA and _u16(raw, BF_INODE_FLAGS) & BF_IN_VALUE:
        length = _u16(raw, BF_LENGTH)
        if BF_DATA + length != len(raw):
            raise LocatorError("BasicFile in-row LOB length does not match the locator",
                               length=length, found=len(raw) - BF_DATA)
        return head.locator(securefile=False, in_row=True, length=length,
                            data=bytes(raw[BF_DATA:]))
    return head.locator(securefile=False, in_row=False, length=None,
                        unsupported="BasicFile LOB stored out of row (its redo is not decoded)")


def _securefile(raw: bytes, head: _Head) -> Locator:
    if len(raw) < SF_MIN:
        raise LocatorError("SecureFile locator too short", length=len(raw), expected=SF_MIN)
    storage, inode = raw[SF_STORAGE], raw[SF_INODE]
    if inode != SF_INODE_PLAIN:  # compressed inodes are laid out otherwise (ojdbc-types)
        return head.locator(securefile=True, in_row=storage == SF_IN_ROW, length=None,
                            unsupported=f"SecureFile inode flags 0x{inode:02X} (compressed or "
                                        "another storage option this build does not decode)")
    if _u16(raw, SF_INODE_SIZE) != len(raw) - SF_LEN_FLAGS:
        raise LocatorError("SecureFile inode size does not match the locator",
                           found=_u16(raw, SF_INODE_SIZE), expected=len(raw) - SF_LEN_FLAGS)
    width = (raw[SF_LEN_FLAGS] & 0x03) + 1
    style = raw[SF_LEN_FLAGS] & STYLE_MASK
    skip = raw[SF_LEN_FLAGS2] & 0x0F
    if skip > 1:
        raise LocatorError("unknown SecureFile length flags", found=raw[SF_LEN_FLAGS2])
    at = SF_LENGTH + width + skip + 1
    if at > len(raw):
        raise LocatorError("SecureFile locator ends inside its length", length=len(raw))
    length = int.from_bytes(raw[SF_LENGTH : SF_LENGTH + width], "big")
    if storage == SF_IN_ROW:
        if at + length != len(raw):
            raise LocatorError("in-row LOB length does not match the locator",
                               length=length, found=len(raw) - at)
        return head.locator(securefile=True, in_row=True, length=length, data=bytes(raw[at:]))
    if storage != SF_OUT_OF_ROW:
        return head.locator(securefile=True, in_row=False, length=length,
                            unsupported=f"SecureFile storage flags 0x{storage:02X} not known")
    if length == 0 and at == len(raw):
        return head.locator(securefile=True, in_row=False, length=0)
    if style != STYLE_EXTENTS:
        return head.locator(securefile=True, in_row=False, length=length,
                            unsupported=f"SecureFile extent style 0x{style:02X} (extent list "
                                        "outside the locator) is not decoded")
    return head.locator(securefile=True, in_row=False, length=length,
                        extents=_extents(raw, at))


def _extents(raw: bytes, at: int) -> tuple[Extent, ...]:
    if at >= len(raw):
        raise LocatorError("SecureFile locator has no extent list", length=len(raw))
    count = raw[at] + 1
    at += 1
    out: list[Extent] = []
    for _ in range(count):
        wide = at < len(raw) and raw[at + EXT_FLAGS] & EXT_WIDE_COUNT
        size = EXT_COUNT + (2 if wide else 1)
        if at + size > len(raw):
            raise LocatorError("SecureFile extent list runs past the locator",
                               extents=count, length=len(raw))
        dba = int.from_bytes(raw[at + EXT_DBA : at + EXT_DBA + 4], "big")
        blocks = int.from_bytes(raw[at + EXT_COUNT : at + size], "big")
        out.append(Extent(dba, blocks))
        at += size
    if at != len(raw):
        raise LocatorError("bytes left after the SecureFile extent list",
                           found=len(raw) - at)
    return tuple(out)


def lob_kind(type_code: int, charset_form: int) -> LobKind:
    """The locator type a column of ``COL$.TYPE#`` 112/113 must carry."""
    if type_code == 113:
        return LobKind.BLOB
    return LobKind.NCLOB if charset_form == 2 else LobKind.CLOB


def storage_charset(locator: Locator, charsets: Charsets) -> Charset:
    """The character set a CLOB's or NCLOB's stored data is in.

    NCLOB: always AL16UTF16 (fixed width). CLOB: AL16UTF16 when the database character
    set is varying-width, else the database character set; the locator's own flag
    must agree, else :class:`LocatorError` (the storage encoding would be a guess)."""
    if locator.little_endian:
        raise LocatorError("UTF-16 little-endian LOB data (created by Oracle 9i) is not decoded",
                           lid=locator.lid_hex)
    if locator.kind is LobKind.NCLOB:
        return charset(UTF16)
    varying = charsets.database.upper() in VARYING_WIDTH
    if varying != locator.varying:
        raise LocatorError("CLOB locator and database character set disagree on the "
                           "storage encoding", lid=locator.lid_hex,
                           database=charsets.database, locator_varying=locator.varying)
    return charset(UTF16 if varying else charsets.database)


def encode_lob_data(value: str, kind: LobKind, charsets: Charsets) -> bytes:
    """The stored bytes of a published LOB value (BLOB: hex; CLOB/NCLOB: text)."""
    if kind is LobKind.BLOB:
        return bytes.fromhex(value)
    if kind is LobKind.NCLOB or charsets.database.upper() in VARYING_WIDTH:
        return charset(UTF16).encode(value)
    return charset(charsets.database).encode(value)
