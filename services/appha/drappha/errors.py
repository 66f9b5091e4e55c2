"""appha's errors: one family (``AppHAError``, a coordination error) the loops catch.

The admin API maps them to answers: ``SwitchRefused`` → 412, ``OperationConflict`` → 409,
``UnknownApp`` → 404.
"""

from __future__ import annotations

from drcommon.errors import CoordinationError


class AppHAError(CoordinationError):
    """Base of appha's own errors."""


class UnknownApp(AppHAError):
    """No application of that name is configured."""


class SwitchRefused(AppHAError):
    """A switch, switchback, mode or maintenance change is not possible now; says why."""


class OperationConflict(AppHAError):
    """An operation id is reused for another application or direction."""


class ActionFailed(AppHAError):
    """A start, fence or traffic action did not succeed (non-zero exit, bad HTTP status …)."""


class PeerUnavailable(AppHAError):
    """The control service or a witness could not be reached or answered badly."""

    retriable = True


class RequestRefused(PeerUnavailable):
    """control refused the request for a reason that may pass (freeze, anti-flapping block,
    another operation open): asked again with the same key, control decides again."""
