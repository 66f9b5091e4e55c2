"""Authentication behind one Protocol: API tokens today, an OIDC verifier tomorrow.

An OIDC implementation would verify the bearer JWT (issuer, audience, signature from the
provider's JWKS) and map a claim to a :class:`~drcontrol.model.Role`; the API only ever
sees the :class:`~drcontrol.model.Principal` it returns or the reason it refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drcontrol.auth.tokens import matches, token_id_of
from drcontrol.errors import Unauthenticated
from drcontrol.model import Principal
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
    """Turns presented credentials into a principal, or raises Unauthenticated (why)."""

    async def authenticate(self, bearer: str | None) -> Principal: ...


class TokenAuthenticator:
    """API tokens stored hashed in control's storage."""

    def __init__(self, storage: Storage, clock: Callable[[], float]) -> None:
        self._storage = storage
        self._clock = clock

    async def authenticate(self, bearer: str | None) -> Principal:
        if not bearer:
            raise Unauthenticated("no bearer token: send Authorization: Bearer <token>")
        token_id = token_id_of(bearer)
        if token_id is None:
            raise Unauthenticated("malformed token")
        record = await self._storage.get_token(token_id)
        if record is None or not matches(bearer, record.hash):
            raise Unauthenticated("unknown token", token_id=token_id)
        if record.revoked_at is not None:
            raise Unauthenticated("token revoked", token_id=token_id)
        user = await self._storage.get_user(record.user)
        if user is None or user.disabled:
            raise Unauthenticated("user disabled or removed", token_id=token_id)
        return Principal(user=user.name, role=user.role, token_id=record.id)
