"""Records a stream cannot read, and the transaction each belongs to.

Capture keys every record of a transaction (its value chunks included) with the XID, and
writes a transaction's records one after the other: the transaction of a record that
cannot be decoded is the run of consecutive records with its key. Parking it
(``policy = "park"``) or skipping it (``drapply skip``) takes that run, as Kafka delivered
it.
"""

from __future__ import annotations

import time
from typing import Any

from drapply.errors import BadRecord
from drapply.source import PartitionSource


def transaction_run(raws: list[Any], offset: int) -> list[Any]:
    """The records of the transaction holding the record at ``offset``: the run of
    consecutive records with its key; the record alone when it has no key."""
    at = next(i for i, r in enumerate(raws) if r.offset == offset)
    key = raws[at].key
    if key is None:
        return [raws[at]]
    first = last = at
    while first > 0 and raws[first - 1].key == key:
        first -= 1
    while last + 1 < len(raws) and raws[last + 1].key == key:
        last += 1
    return raws[first : last + 1]


def run_ended(raws: list[Any], offset: int) -> bool:
    """A record after ``offset`` with another key (or none) ends its run."""
    at = next((i for i, r in enumerate(raws) if r.offset == offset), None)
    if at is None:
        return False
    key = raws[at].key
    return any(r.key != key or key is None for r in raws[at + 1 :])


async def read_run(source: PartitionSource, offset: int, seconds: float = 60.0) -> list[Any]:
    """Records from the source's position to the end of the run holding ``offset`` (or
    the topic's end), undecoded."""
    end = await source.end()
    deadline = time.monotonic() + seconds
    raws: list[Any] = []
    while time.monotonic() < deadline:
        raws.extend(await source.fetch_raw(500, 500))
        if raws and (raws[-1].offset >= end - 1 or run_ended(raws, offset)):
            return raws
    raise BadRecord("timed out reading a transaction to park", offset=offset)
