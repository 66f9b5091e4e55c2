"""Oracle's redo block checksum.

The block is XOR-ed as 32-bit words, the result folded to 16 bits (high half XOR low
half). The stored u16 at offset 14 is chosen so that the fold over the whole block,
checksum included, is zero. Byte order does not matter for an XOR fold checked against
zero, so one function serves both platforms.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

from drcapture.redo.binary import Buffer
from drcapture.redo.layout import BLOCK_CHECKSUM_OFFSET


def fold(block: Buffer) -> int:
    """The 16-bit XOR fold of a block (0 for a block whose checksum is right)."""
    data = bytes(block)
    usable = len(data) - len(data) % 8
    acc = reduce(xor, memoryview(data[:usable]).cast("Q"), 0)
    word = (acc ^ (acc >> 32)) & 0xFFFFFFFF
    for off in range(usable, len(data) - len(data) % 4, 4):
        word ^= int.from_bytes(data[off : off + 4], "little")
    return (word ^ (word >> 16)) & 0xFFFF


def stored_checksum(block: Buffer) -> int:
    """The raw 2 bytes at the checksum offset, as a little-endian number (0 = not set)."""
    return int.from_bytes(bytes(block[BLOCK_CHECKSUM_OFFSET : BLOCK_CHECKSUM_OFFSET + 2]), "little")


def compute_checksum(block: Buffer) -> bytes:
    """The 2 checksum bytes that make :func:`fold` of ``block`` zero (writers use this).

    ``block`` may carry any value in the checksum field; it is treated as zero.
    """
    data = bytearray(block)
    data[BLOCK_CHECKSUM_OFFSET : BLOCK_CHECKSUM_OFFSET + 2] = b"\x00\x00"
    value = fold(data)
    # The fold is linear and these two bytes land on its low 16 bits: storing the fold cancels it.
    data[BLOCK_CHECKSUM_OFFSET : BLOCK_CHECKSUM_OFFSET + 2] = value.to_bytes(2, "little")
    if fold(data) != 0:  # pragma: no cover - the fold is linear, this cannot happen
        raise AssertionError("checksum did not cancel")
    return bytes(data[BLOCK_CHECKSUM_OFFSET : BLOCK_CHECKSUM_OFFSET + 2])
