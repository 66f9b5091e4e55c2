"""Named step preconditions, checked live just before a step acts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from drcontrol.errors import PeerError
from drcontrol.peers.base import Peers

Probe = Callable[[], Awaitable[object]]


async def _answers(name: str, probe: Probe | None) -> str | None:
    if probe is None:
        return f"{name} is not configured"
    try:
        await probe()
    except PeerError as exc:
        return exc.message
    return None


def _probe(peers: Peers, name: str) -> Probe | None:
    table: dict[str, Probe | None] = {
        "capture_reachable": peers.capture.status if peers.capture else None,
        "apply_reachable": peers.apply.status if peers.apply else None,
        "appha_reachable": peers.appha.apps if peers.appha else None,
        "reverse_capture_reachable":
            peers.reverse_capture.status if peers.reverse_capture else None,
        "reverse_apply_reachable": peers.reverse_apply.status if peers.reverse_apply else None,
        "dr_database_reachable": peers.database.ping if peers.database else None,
    }
    if name not in table:
        raise KeyError(name)
    return table[name]


KNOWN = frozenset({
    "capture_reachable", "apply_reachable", "appha_reachable", "reverse_capture_reachable",
    "reverse_apply_reachable", "dr_database_reachable",
})


async def first_unmet(names: list[str], peers: Peers) -> str | None:
    """``"<name>: <why>"`` for the first precondition that does not hold, else None."""
    for name in names:
        why = await _answers(name.removesuffix("_reachable"), _probe(peers, name))
        if why is not None:
            return f"{name}: {why}"
    return None
