"""Byte layouts of an Oracle redo log: file header, redo header, block header, record
header and change-vector header.

Every offset here is relative to the start of its structure; multi-byte integers are in
the file's byte order (see :func:`byte_order_from_magic`). The redo writer builds files
from these same constants, so each field has one commented line. Sources for every fact
are listed in ``docs/REDO_FORMAT.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ByteOrder(StrEnum):
    """The byte order a redo file was written in (the platform of the database)."""

    LITTLE = "<"
    BIG = ">"


# --- Block 0: the file header (not a redo block: no sequence, no records) ---------------
FILE_HEADER_TYPE_OFFSET: Final = 0  # u8: always 0x00 in block 0
FILE_HEADER_KIND_OFFSET: Final = 1  # u8: block-size code (0x22 for 512/1024, 0x82 for 4096)
FILE_HEADER_BLOCK_SIZE_OFFSET: Final = 20  # u32: redo block size in bytes
FILE_HEADER_BLOCK_COUNT_OFFSET: Final = 24  # u32: number of redo blocks after block 0
FILE_HEADER_MAGIC_OFFSET: Final = 28  # 4 bytes: 7D 7C 7B 7A little-endian, 7A 7B 7C 7D big
MAGIC_LITTLE: Final = bytes((0x7D, 0x7C, 0x7B, 0x7A))
MAGIC_BIG: Final = bytes((0x7A, 0x7B, 0x7C, 0x7D))
BLOCK_SIZES: Final = (512, 1024, 4096)
BLOCK_KIND_BY_SIZE: Final = {512: 0x22, 1024: 0x22, 4096: 0x82}  # what writers put
# Sources differ on the 1024-byte code (0x22 or 0x42): accept both when reading.
BLOCK_KINDS_ACCEPTED: Final = {512: (0x22,), 1024: (0x22, 0x42), 4096: (0x82,)}

# --- Every redo block (block 1 onwards) starts with a 16-byte header -------------------
BLOCK_HEADER_SIZE: Final = 16
BLOCK_TYPE_OFFSET: Final = 0  # u8: 0x01 for a redo block
BLOCK_KIND_OFFSET: Final = 1  # u8: block-size code, as in block 0
BLOCK_NUMBER_OFFSET: Final = 4  # u32: this block's number inside the file
BLOCK_SEQUENCE_OFFSET: Final = 8  # u32: log sequence the block was written for
BLOCK_RECORD_OFFSET_OFFSET: Final = 12  # u16: offset of the first record starting here (masked)
BLOCK_RECORD_OFFSET_MASK: Final = 0x7FFF  # the top bit of that u16 is a flag, not offset
BLOCK_CHECKSUM_OFFSET: Final = 14  # u16: value that makes the block's XOR fold to zero
REDO_BLOCK_TYPE: Final = 0x01

# --- Block 1: the redo header (kcrfh), offsets from the start of block 1 ---------------
REDO_HEADER_COMPAT_VSN: Final = 20  # u32: compatibility version, 0x13000000 = 19.0.0.0
REDO_HEADER_DB_ID: Final = 24  # u32: database id
REDO_HEADER_DB_NAME: Final = 28  # 8 bytes: database name, NUL padded
REDO_HEADER_CONTROL_SEQ: Final = 36  # u32: control sequence
REDO_HEADER_FILE_SIZE: Final = 40  # u32: log size in blocks (as configured)
REDO_HEADER_BLOCK_SIZE: Final = 44  # u16: block size
REDO_HEADER_FILE_NUMBER: Final = 48  # u16: log file number
REDO_HEADER_FILE_TYPE: Final = 50  # u16: file type (2 = log)
REDO_HEADER_ACTIVATION: Final = 52  # u32: activation id
REDO_HEADER_DESCRIPTION: Final = 92  # 64 bytes: "T 0001, S 0000000015, SCN ..." text
REDO_HEADER_DESCRIPTION_LEN: Final = 64
REDO_HEADER_NAB: Final = 156  # u32: next available block (end of written redo)
REDO_HEADER_RESETLOGS_ID: Final = 160  # u32: resetlogs count (incarnation id)
REDO_HEADER_RESETLOGS_SCN: Final = 164  # SCN (8 bytes): resetlogs SCN
REDO_HEADER_THREAD: Final = 176  # u16: RAC thread
REDO_HEADER_FIRST_SCN: Final = 180  # SCN (8 bytes): first SCN in this log
REDO_HEADER_FIRST_TIME: Final = 188  # u32: redo time of the first SCN
REDO_HEADER_NEXT_SCN: Final = 192  # SCN (8 bytes): first SCN of the next log (FF.. = open)
REDO_HEADER_NEXT_TIME: Final = 200  # u32: redo time of the next SCN
REDO_HEADER_LARGEST_LWN: Final = 268  # u32: largest log write in blocks
REDO_HEADER_PREV_RESETLOGS_SCN: Final = 284  # SCN (8 bytes): previous resetlogs SCN
REDO_HEADER_PREV_RESETLOGS_ID: Final = 292  # u32: previous resetlogs count

# --- Redo record header ------------------------------------------------------------------
RECORD_LENGTH: Final = 0  # u32: total record length in bytes, header included
RECORD_VLD: Final = 4  # u8: validity flags (KCRVALID …)
RECORD_SCN_WRAP: Final = 6  # u16: SCN wrap (top bit: extended wrap)
RECORD_SCN_BASE: Final = 8  # u32: SCN base
RECORD_SUB_SCN: Final = 12  # u16: sub-SCN (order of records sharing one SCN)
RECORD_CON_UID: Final = 16  # u32: container uid (12.1+)
RECORD_LWN_NST: Final = 26  # u16: LWN "nst" (long header only)
RECORD_LWN_LENGTH: Final = 32  # u32: LWN length in blocks (long header only)
RECORD_TIMESTAMP: Final = 64  # u32: redo time of the LWN (long header only)
RECORD_HEADER_SHORT: Final = 24  # header size without the LWN part
RECORD_HEADER_LONG: Final = 68  # header size when VLD has VLD_LWN
RECORD_MIN_TAIL: Final = 24  # a record never starts in the last 24 bytes of a block

VLD_VALID: Final = 0x01  # record holds change vectors
VLD_COMMIT_SCN: Final = 0x02  # record carries a commit SCN
VLD_LWN: Final = 0x04  # long header: LWN start with timestamp
VLD_NEW_MARK: Final = 0x08  # new SCN mark record
VLD_OLD_MARK: Final = 0x10  # old SCN mark record
VLD_ORDER: Final = 0x20  # SCN allocated to keep per-block ordering

# --- Change vector header ------------------------------------------------------------------
CV_LAYER: Final = 0  # u8: layer (5 transaction undo, 11 row, …)
CV_CODE: Final = 1  # u8: operation code inside the layer
CV_CLASS: Final = 2  # u16: block class (undo segment header/undo block classes >= 15)
CV_AFN: Final = 4  # u16: absolute file number
CV_OBJ_HIGH: Final = 6  # u16: high half of the data object number
CV_DBA: Final = 8  # u32: data block address changed
CV_SCN: Final = 12  # SCN (8 bytes): block SCN
CV_SEQ: Final = 20  # u8: sequence of the change within the SCN
CV_TYPE: Final = 21  # u8: change type (0x80 bit = encrypted, 6 = media recovery marker)
CV_OBJ_LOW: Final = 22  # u16: low half of the data object number
CV_CON_ID: Final = 24  # u16: container id (12.1+ layout only)
CV_FLAGS: Final = 28  # u16: vector flags (12.1+ layout only)
CV_HEADER_11G: Final = 24  # header size up to 11.2
CV_HEADER_12C: Final = 32  # header size from 12.1 (container id)
CV_TYPE_ENCRYPTED: Final = 0x80

UNDO_CLASS_BASE: Final = 15  # classes >= 15 are undo: usn = (class - 15) // 2

# Compatibility version from which the 32-byte vector header is used (12.1.0.0).
COMPAT_12C: Final = 0x0C000000


def align4(length: int) -> int:
    """A field's length rounded up to the 4-byte boundary the next field starts on."""
    return (length + 3) & ~3


def field_lengths_size(count: int) -> int:
    """Bytes taken by the field-length array (u16 size, then one u16 per field, 4-aligned)."""
    return align4(2 * (count + 1))
