"""Authentication behind one Protocol: API tokens today, an OIDC verifier tomorrow.

An OIDC implementation would verify the bearer JWT (issuer, audience, signature from the
provider's JWKS) and map a claim to a :class:`~drcontrol.model.Role`; the API only ever
sees the :class:`~drcontrol.model.Principal` it returns or the reason it refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drcontrol.auth.throttle import Throttle
from drcontrol.auth.tokens import matches, token_id_of
from drcontrol.errors import TooManyAttempts, Unauthenticated
from drcontrol.model import Principal
from drcontrol.recorder import Recorder
from drcontrol.settings import AuthSettings
from drcontrol.storage.base import Storage


def bearer_of(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (Unauthenticated if malformed)."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("Authorization must be 'Bearer <token>'")
    return value.strip()


class Authenticator(Protocol):
    """Turns the ``Authorization`` header into a principal, or raises Unauthenticated
    (why); ``client`` is the caller's address (for throttling)."""

    async def authenticate(self, authorization: str | None, client: str | None = None
                           ) -> Principal: ...


class TokenAuthenticator:
    """API tokens stored hashed in control's storage."""

    def __init__(self, storage: Storage, clock: Callable[[], float],
                 auth: AuthSettings | None = None) -> None:
        self._storage = storage
        self._clock = clock
        self._auth = auth or AuthSettings()

    async def authenticate(self, authorization: str | None, client: str | None = None
                           ) -> Principal:
        bearer = bearer_of(authorization)
        if not bearer:
            raise Unauthenticated("no bearer token: send Authorization: Bearer <token>")
        token_id = token_id_of(bearer)
        if token_id is None:
            raise Unauthenticated("malformed token")
        record = await self._storage.get_token(token_id)
        if record is None or not matches(bearer, record.hash):
            raise Unauthenticated("unknown token", token_id=token_id)
        now = self._clock()
        if record.revoked_at is not None and record.revoked_at <= now:
            raise Unauthenticated("token revoked", token_id=token_id)
        user = await self._storage.get_user(record.user)
        if user is None or user.disabled:
            raise Unauthenticated("user disabled or removed", token_id=token_id)
        if now >= record.created_at + self._auth.max_age_seconds(user.role):
            raise Unauthenticated("token expired; an admin issues the next one with "
                                  "'drcontrol user token rotate'", token_id=token_id)
        return Principal(user=user.name, role=user.role, token_id=record.id)


class ThrottledAuthenticator:
    """Another authenticator behind per-client and per-token-id failure limits.

    A locked client address or token id gets :class:`TooManyAttempts` (429) before the
    token is looked at. A failure is audited by the API only when it is the first of its
    window (``Unauthenticated.quiet`` otherwise); a lockout writes one summary row.
    """

    def __init__(self, inner: Authenticator, throttle: Throttle, recorder: Recorder) -> None:
        self._inner = inner
        self._throttle = throttle
        self._recorder = recorder

    async def authenticate(self, authorization: str | None, client: str | None = None
                           ) -> Principal:
        keys = [f"client:{client or 'unknown'}"]
        _, _, presented = (authorization or "").partition(" ")
        token_id = token_id_of(presented.strip()) if presented else None
        if token_id is not None:
            keys.append(f"token:{token_id}")
        wait = self._throttle.retry_after(keys)
        if wait is not None:
            raise TooManyAttempts("too many failed authentications; try again later",
                                  retry_after=wait)
        try:
            principal = await self._inner.authenticate(authorization, client)
        except Unauthenticated as exc:
            failure = self._throttle.failed(keys)
            exc.quiet = not failure.first
            for key, count in failure.locked:
                await self._recorder.record(
                    "anonymous", "auth.locked_out", key, outcome="refused", failures=count,
                    lockout_seconds=self._throttle.limits.lockout_seconds, client=client,
                    reason=exc.message)
            raise
        if token_id is not None:
            self._throttle.succeeded(f"token:{token_id}")
        return principal
