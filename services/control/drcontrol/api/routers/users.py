"""Users and tokens (admin), and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from drcontrol.api.deps import Ctx, CurrentUser, IdempotencyKey, allowed, answer
from drcontrol.auth.roles import PERMISSIONS, Permission, require
from drcontrol.idempotency import Answer
from drcontrol.requests import UserCreate

router = APIRouter(tags=["users"])


@router.get("/whoami", summary="The caller, their role and permissions")
async def whoami(who: CurrentUser) -> dict[str, Any]:
    return {"user": who.user, "role": who.role.value, "token_id": who.token_id,
            "permissions": sorted(p.value for p in PERMISSIONS[who.role])}


@router.get("/users", summary="Users and their tokens (hashes never leave the server)")
async def list_users(ctx: Ctx, who: CurrentUser) -> list[dict[str, Any]]:
    require(who, Permission.MANAGE_USERS)
    tokens = await ctx.storage.list_tokens()
    return [{**user.model_dump(mode="json"),
             "tokens": [{"id": t.id, "created_at": t.created_at, "revoked_at": t.revoked_at,
                         "expires_at": t.created_at + ctx.settings.auth.max_age_seconds(user.role),
                         "label": t.label} for t in tokens if t.user == user.name]}
            for user in await ctx.storage.list_users()]


@router.post("/users", dependencies=[allowed(Permission.MANAGE_USERS)],
             status_code=201, summary="Add a user; the token is shown once")
async def add_user(body: UserCreate, request: Request, ctx: Ctx, who: CurrentUser,
                   key: IdempotencyKey = None) -> JSONResponse:
    async def produce() -> Answer:
        require(who, Permission.MANAGE_USERS)
        token = await ctx.users.add(who.user, body.name, body.role, body.display_name)
        return Answer(201, {"name": body.name, "role": body.role.value, "token": token})

    # The token must not be replayed from storage: no Idempotency-Key here.
    del key
    return await answer(ctx, request, who, None, body, produce)


@router.post("/users/{name}/revoke", dependencies=[allowed(Permission.MANAGE_USERS)],
             summary="Revoke every token of a user and disable them")
async def revoke(name: str, ctx: Ctx, who: CurrentUser) -> dict[str, Any]:
    require(who, Permission.MANAGE_USERS)
    count = await ctx.users.revoke(who.user, name, disable=True)
    return {"name": name, "revoked": count, "disabled": True}
