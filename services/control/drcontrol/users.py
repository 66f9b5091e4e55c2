"""Users and their tokens (shared by ``drcontrol user …`` and the admin API)."""

from __future__ import annotations

from collections.abc import Callable

from drcontrol.auth.tokens import mint
from drcontrol.errors import NotFound
from drcontrol.model import Role, TokenRecord, User
from drcontrol.recorder import Recorder
from drcontrol.storage.base import Storage


class Users:
    """Add users, mint tokens (shown once), revoke."""

    def __init__(self, storage: Storage, recorder: Recorder, clock: Callable[[], float]) -> None:
        self._storage = storage
        self._recorder = recorder
        self._clock = clock

    async def add(self, actor: str, name: str, role: Role, display_name: str = "") -> str:
        """Create the user and a first token; returns the token text (print it once)."""
        await self._storage.add_user(User(name=name, role=role, created_at=self._clock(),
                                          display_name=display_name))
        await self._recorder.record(actor, "user.added", name, role=role.value)
        return await self.new_token(actor, name)

    async def new_token(self, actor: str, name: str, label: str = "") -> str:
        """Another token for an existing user."""
        user = await self._storage.get_user(name)
        if user is None:
            raise NotFound(f"no user {name}", user=name)
        token = mint()
        await self._storage.add_token(TokenRecord(id=token.id, user=name, hash=token.hash,
                                                  created_at=self._clock(), label=label))
        await self._recorder.record(actor, "token.issued", name, token_id=token.id)
        return token.text

    async def rotate(self, actor: str, name: str, grace_seconds: float) -> str:
        """A new token for ``name``; the user's live tokens stop working after
        ``grace_seconds`` (0: at once). Returns the new token's text (print it once)."""
        if await self._storage.get_user(name) is None:
            raise NotFound(f"no user {name}", user=name)
        until = self._clock() + grace_seconds
        retired = await self._storage.revoke_tokens(name, until)
        token = mint()
        await self._storage.add_token(TokenRecord(id=token.id, user=name, hash=token.hash,
                                                  created_at=self._clock(), label="rotated"))
        await self._recorder.record(actor, "token.rotated", name, token_id=token.id,
                                    retired=retired, old_tokens_until=until)
        return token.text

    async def revoke(self, actor: str, name: str, token_id: str | None = None,
                     disable: bool = False) -> int:
        """Revoke one or all tokens of ``name`` (and optionally disable the user)."""
        if await self._storage.get_user(name) is None:
            raise NotFound(f"no user {name}", user=name)
        count = await self._storage.revoke_tokens(name, self._clock(), token_id)
        if disable:
            await self._storage.set_user_disabled(name, True)
        await self._recorder.record(actor, "token.revoked", name, token_id=token_id,
                                    revoked=count, disabled=disable)
        return count
