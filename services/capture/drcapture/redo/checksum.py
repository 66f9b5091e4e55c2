"""Oracle's redo block checksum.

The block is XOR-ed as 32-bit words, the result folded to 16 bits (high half XOR low
half). The stored u16 at offset 14 is chosen so that the fold over the whole block,
checksum included, is zero. Byte order does not matter for an XOR fold checked against
zero, so one function serves both platforms.

:func:`span_folds_to_zero` checks many consecutive blocks at once (the reader's fast
path); :func:`fold` gives the result of one block.
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

    numpy XOR-reduces each block's 32-bit words in one pass over the span (well under an
    instruction per byte; folding in Python costs over twenty). Without numpy, block by
    block with :func:`fold`.
    """
    count = len(span) // block_size
    if count == 0:
        return True
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency; this keeps a fallback
        return all(fold(span[k * block_size : (k + 1) * block_size]) == 0 for k in range(count))
    words = numpy.frombuffer(span, dtype=numpy.uint32, count=count * block_size // 4)
    acc = numpy.bitwise_xor.reduce(words.reshape(count, block_size // 4), axis=1)
    # Native word order: the fold is zero in either byte order or in neither.
    return not bool(numpy.any((acc ^ (acc >> 16)) & 0xFFFF))


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
