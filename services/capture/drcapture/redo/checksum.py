"""Oracle's redo block checksum.

The block is XOR-ed as 32-bit words, the result folded to 16 bits (high half XOR low
half). The stored u16 at offset 14 is chosen so that the fold over the whole block,
checksum included, is zero. Byte order does not matter for an XOR fold checked against
zero, so one function serves both platforms.

:func:`span_folds_to_zero` checks many consecutive blocks at once (the reader's fast
path); :func:`fold` names the result of one block.
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


def span_folds_to_zero(span: bytes, block_size: int) -> bool:
    """True when every block of ``span`` (whole blocks, back to back) folds to zero.

    A strided slice ``span[k::block_size]`` holds byte ``k`` of every block; XOR-ing those
    slices as big integers folds all blocks at once, lane by lane (byte ``j`` of the 32-bit
    word fold is the XOR of the slices at ``k = j mod 4``). This is ~15x faster than
    folding block by block and needs no third-party array library.
    """
    count = len(span) // block_size
    if count == 0:
        return True
    lanes = [0, 0, 0, 0]
    from_bytes = int.from_bytes
    for k in range(0, block_size, 4):
        lanes[0] ^= from_bytes(span[k::block_size], "little")
        lanes[1] ^= from_bytes(span[k + 1 :: block_size], "little")
        lanes[2] ^= from_bytes(span[k + 2 :: block_size], "little")
        lanes[3] ^= from_bytes(span[k + 3 :: block_size], "little")
    # The 16-bit fold is (byte 0 ^ byte 2, byte 1 ^ byte 3) of the 32-bit one.
    return lanes[0] == lanes[2] and lanes[1] == lanes[3]


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
