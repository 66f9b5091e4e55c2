"""Control's errors: each refusal knows its HTTP status and says why.

Everything derives from :class:`drcommon.errors.CoordinationError` so loops catch one
family; the API turns ``status`` into the answer and ``message`` into ``detail``.
"""

from __future__ import annotations

from drcommon.errors import CoordinationError


class ControlError(CoordinationError):
    """Base of control's refusals and failures; ``status`` is the HTTP answer."""

    status: int = 500


class Unauthenticated(ControlError):
    """No token, an unknown token, or a revoked one."""

    status = 401
    quiet = False  # True: a repeat within a throttle window, summarised rather than audited


class TooManyAttempts(ControlError):
    """Too many failed attempts from this client, with this token or this code: 429 with
    ``Retry-After``; nothing is checked until the lockout ends."""

    status = 429

    def __init__(self, message: str, /, *, retry_after: float, **where: object) -> None:
        super().__init__(message, **where)
        self.retry_after = retry_after


class Forbidden(ControlError):
    """The caller is known but may not do this (role, four-eyes, break-glass factor)."""

    status = 403


class NotFound(ControlError):
    """The operation, user, step or report does not exist."""

    status = 404


class Stale(ControlError):
    """The world moved on: evidence changed, state does not allow this, freeze, block."""

    status = 409


class Expired(ControlError):
    """The approval window closed; silence meant no."""

    status = 410


class PreconditionFailed(ControlError):
    """``If-Match`` does not match the site group's current ETag."""

    status = 412


class IdempotencyMismatch(ControlError):
    """The same ``Idempotency-Key`` was used with a different request body."""

    status = 422


class PreconditionRequired(ControlError):
    """This call acts on the site group and needs ``If-Match``."""

    status = 428


class PeerError(ControlError):
    """A peer service (capture, apply, appha) failed or could not be reached."""

    status = 502
    retriable = True


class StepFailed(ControlError):
    """A runbook step could not reach its goal; the run stops with this reason."""

    status = 500


class StorageError(ControlError):
    """The control database failed (connection lost, schema problem)."""

    status = 503
    retriable = True


class FatalStepError(StepFailed):
    """A step failure that must end the run (post-approval re-check): no retry, no skip."""
