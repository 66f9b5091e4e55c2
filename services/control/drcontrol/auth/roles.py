"""Roles and what each may do: one table, checked in one place."""

from __future__ import annotations

from enum import StrEnum

from drcontrol.errors import Forbidden
from drcontrol.model import Principal, Role


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

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.OPERATOR: _OPERATOR,
    Role.APPROVER: _APPROVER,
    Role.ADMIN: frozenset(Permission),
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
