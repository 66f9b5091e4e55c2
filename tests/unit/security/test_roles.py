"""Issue 17, finding 5: the role matrix, and appha's account held to what appha calls."""

from __future__ import annotations

import pytest
from drcontrol.auth.roles import PERMISSIONS, Permission, require, require_for
from drcontrol.errors import Forbidden
from drcontrol.model import OpType, Principal, Role

# The matrix docs/CONTROL.md and docs/OPERATIONS.md state, role by role.
MATRIX = {
    Role.VIEWER: {"read"},
    Role.OPERATOR: {"read", "request", "cancel", "refresh_evidence", "retry", "abort",
                    "freeze", "replay", "report"},
    Role.APPROVER: {"read", "approve", "refresh_evidence", "freeze", "unfreeze", "ack_block",
                    "review"},
    Role.ADMIN: {p.value for p in Permission},
    Role.APPHA: {"read", "request", "cancel", "report"},
}


def test_the_role_matrix_is_the_documented_one() -> None:
    assert {role: {p.value for p in perms} for role, perms in PERMISSIONS.items()} == MATRIX


def test_appha_requests_and_cancels_only_its_own_app_failovers() -> None:
    appha = Principal(user="appha", role=Role.APPHA)
    require_for(appha, Permission.REQUEST, OpType.APP_FAILOVER)
    require_for(appha, Permission.CANCEL, OpType.APP_FAILOVER, "appha")
    for op_type in OpType:
        if op_type is not OpType.APP_FAILOVER:
            with pytest.raises(Forbidden, match="limited to app_failover"):
                require_for(appha, Permission.REQUEST, op_type)
    with pytest.raises(Forbidden, match="its own requests"):
        require_for(appha, Permission.CANCEL, OpType.APP_FAILOVER, "olga")
    for permission in (Permission.REPLAY, Permission.RETRY, Permission.ABORT,
                       Permission.FREEZE, Permission.APPROVE, Permission.SKIP):
        with pytest.raises(Forbidden):
            require(appha, permission)
    # people's roles are not scoped
    require_for(Principal(user="olga", role=Role.OPERATOR), Permission.REQUEST, OpType.FAILOVER)
