"""The load's decisions, pure: resume or start anew, whether capture can serve the
copy, whether a stream may be seeded and where its position goes.

Each returns its one human-readable line (the log line and the test oracle) or raises
:class:`LoadRefused` with what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drcommon.model import CaptureCheckpoint

from drapply.adapters.base import Checkpoint
from drapply.load.model import LoadRefused, LoadRequest, LoadRow
from drapply.snapshot.model import StartPoint


@dataclass(frozen=True, slots=True)
class Begin:
    """Start a new load (``abandon``: the unfinished one is given up first)."""

    abandon: LoadRow | None = None
    line: str = "new load"


@dataclass(frozen=True, slots=True)
class Resume:
    """Continue the unfinished load ``row`` at its SCN."""

    row: LoadRow
    line: str = ""


def resume_or_begin(unfinished: LoadRow | None, request: LoadRequest) -> Begin | Resume:
    """An unfinished load is resumed when the request names its SCN (or ``now``), and
    given up only with ``restart``; another SCN without ``restart`` is refused."""
    if unfinished is None:
        return Begin(line="no unfinished load: a new one")
    if request.restart:
        return Begin(abandon=unfinished,
                     line=f"abandoning the unfinished load at SCN {unfinished.scn} (restart)")
    if request.scn is None or request.scn == unfinished.scn:
        return Resume(unfinished, f"resuming the unfinished load at SCN {unfinished.scn}")
    raise LoadRefused(
        f"an unfinished load at SCN {unfinished.scn} exists: resume it (--scn "
        f"{unfinished.scn} or --scn now) or give it up with --restart",
        load_id=unfinished.load_id,
    )


def restart_scn(checkpoint: CaptureCheckpoint) -> int:
    """Where capture's checkpoint makes it read from: its earliest thread position."""
    threads = checkpoint.threads or {}
    return min((t.scn for t in threads.values()), default=checkpoint.safe_scn)


def capture_verdict(start: StartPoint, checkpoints: Mapping[str, CaptureCheckpoint]) -> str:
    """Whether capture can deliver every transaction committed after the copy's SCN.

    Without a checkpoint, capture starts where it is told (``DR_START_SCN``): the line
    says where that must be. With one (read before the copy's SCN), the checkpoint wins
    over ``DR_START_SCN``: its earliest thread position must not lie past the start
    point, or the transactions open at the SCN that began before it would be missed.
    """
    if not checkpoints:
        return (f"no capture checkpoint yet: start capture at DR_START_SCN={start.start_scn} "
                "or earlier")  # fmt: skip
    late = {cid: restart_scn(cp) for cid, cp in checkpoints.items()
            if restart_scn(cp) > start.start_scn}  # fmt: skip
    if late:
        named = ", ".join(f"{cid} reads from SCN {scn}" for cid, scn in sorted(late.items()))
        raise LoadRefused(
            f"capture's checkpoint is past the start point SCN {start.start_scn} ({named}): "
            "transactions open at the copy's SCN would be missed. Load at 'now' while capture "
            f"runs, or reset capture to start at DR_START_SCN={start.start_scn}",
            scn=start.scn,
        )
    names = ", ".join(f"{cid} at SCN {restart_scn(cp)}" for cid, cp in sorted(checkpoints.items()))
    return f"capture's checkpoint reads from before the start point ({names})"


def may_seed(checkpoint: Checkpoint | None, scn: int, truncate: bool) -> str:
    """A stream that already applied transactions is only re-seeded with ``truncate``."""
    if checkpoint is None:
        return "no checkpoint yet"
    applied = checkpoint.next_offset > 0 or checkpoint.commit_scn is not None
    if not applied or checkpoint.seed_scn == scn:
        return f"checkpoint at offset {checkpoint.next_offset} (not applied from yet)"
    if truncate:
        return (f"re-seeding: the checkpoint at offset {checkpoint.next_offset} "
                f"(SCN {checkpoint.commit_scn}) is replaced")  # fmt: skip
    raise LoadRefused(
        f"the target already applies this schema (checkpoint at offset "
        f"{checkpoint.next_offset}, SCN {checkpoint.commit_scn}): a re-seed needs --truncate",
        topic=checkpoint.topic,
    )


def seed_offset(scn: int, begin: int, end: int, first_retained_scn: int | None,
                first_after: int) -> tuple[int, str]:  # fmt: skip
    """Where apply starts reading a schema topic after a copy at ``scn``.

    ``first_after`` is the offset of the first transaction committed after ``scn`` (the
    end when there is none yet); ``first_retained_scn`` the commit SCN of the first
    transaction Kafka still holds. When retention deleted records (``begin`` > 0), they
    are harmless only if a transaction committed at or before ``scn`` is still there:
    commit SCNs never decrease along the topic, so everything deleted was older.
    """
    if end == 0:
        return 0, "empty topic: apply starts at offset 0"
    if begin > 0 and (first_retained_scn is None or first_retained_scn > scn):
        raise LoadRefused(
            f"Kafka no longer holds the records right after SCN {scn} (retention deleted "
            f"offsets 0..{begin - 1} and the first one left is beyond the SCN): the copy would "
            "miss transactions; load at a newer SCN",
            first_available=begin,
        )
    return first_after, (f"apply starts at offset {first_after}, the first transaction "
                         f"committed after SCN {scn}")  # fmt: skip
