"""Roles and what each may do: one table, checked in one place."""

from __future__ import annotations

from enum import StrEnum

from drcontrol.errors import Forbidden
from drcontrol.model import OpType, Principal, Role


class Permission(StrEnum):
    """Actions the API guards."""

    READ = "read"
    REQUEST = "request"
    CANCEL = "cancel"
    REFRESH_EVIDENCE = "refresh_evidence"
    APPROVE = "approve"
    RETRY = "retry"
    ABORT = "abort"
    SKIP = "skip"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    ACK_BLOCK = "ack_block"
    REVIEW = "review"
    REPLAY = "replay"
    REPORT = "report"  # peers (appha) telling control what happened
    MANAGE_USERS = "manage_users"
    BREAK_GLASS = "break_glass"


_VIEWER = frozenset({Permission.READ})
_OPERATOR = _VIEWER | {
    Permission.REQUEST,
    Permission.CANCEL,
    Permission.REFRESH_EVIDENCE,
    Permission.RETRY,
    Permission.ABORT,
    Permission.FREEZE,
    Permission.REPLAY,
    Permission.REPORT,
}
# The customer's confirmer: decides, lifts protections, reviews; does not drive runs.
_APPROVER = _VIEWER | {
    Permission.APPROVE,
    Permission.REFRESH_EVIDENCE,
    Permission.FREEZE,
    Permission.UNFREEZE,
    Permission.ACK_BLOCK,
    Permission.REVIEW,
}

# appha's service account: what appha calls and nothing more (docs/INTERFACES.md): it
# reads operations, the freeze and the automation permit, reports what happened, and
# opens or withdraws its own application failovers. No retry, abort, replay or freeze:
# whoever holds appha's token cannot reach apply or a database switch through control.
_APPHA = _VIEWER | {Permission.REQUEST, Permission.CANCEL, Permission.REPORT}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.OPERATOR: _OPERATOR,
    Role.APPROVER: _APPROVER,
    Role.ADMIN: frozenset(Permission),
    Role.APPHA: _APPHA,
}
# Roles whose REQUEST and CANCEL reach only these operation types (others: every type),
# and only operations they requested themselves.
SCOPED_OPERATIONS: dict[Role, frozenset[OpType]] = {
    Role.APPHA: frozenset({OpType.APP_FAILOVER}),
}


def allowed(role: Role, permission: Permission) -> bool:
    """Whether ``role`` carries ``permission``."""
    return permission in PERMISSIONS[role]


def require(principal: Principal, permission: Permission) -> None:
    """Raise 403 naming the role and the missing permission."""
    if not allowed(principal.role, permission):
        holders = sorted(role.value for role, perms in PERMISSIONS.items() if permission in perms)
        raise Forbidden(
            f"{principal.user} has role {principal.role.value}; "
            f"{permission.value} needs one of: {', '.join(holders)}"
        )


def require_for(principal: Principal, permission: Permission, op_type: OpType,
                requested_by: str | None = None) -> None:
    """:func:`require`, then the role's scope: a scoped role acts only on its operation
    types and (when ``requested_by`` is given) only on the operations it requested."""
    require(principal, permission)
    scope = SCOPED_OPERATIONS.get(principal.role)
    if scope is None:
        return
    if op_type not in scope:
        raise Forbidden(
            f"{principal.user} has role {principal.role.value}; {permission.value} is "
            f"limited to {', '.join(sorted(t.value for t in scope))}, not {op_type.value}"
        )
    if requested_by is not None and requested_by != principal.user:
        raise Forbidden(
            f"{principal.user} has role {principal.role.value}; {permission.value} is "
            f"limited to its own requests (this one is {requested_by}'s)"
        )
