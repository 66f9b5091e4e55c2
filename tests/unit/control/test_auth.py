"""Tokens, RFC 6238 TOTP (the RFC's own test vectors) and the role table."""

from __future__ import annotations

import base64

import pytest
from drcontrol.auth.roles import Permission, allowed, require
from drcontrol.auth.tokens import matches, mint, token_hash, token_id_of
from drcontrol.auth.totp import hotp, totp, verify
from drcontrol.errors import Forbidden
from drcontrol.model import Principal, Role

# RFC 6238 Appendix B: SHA1 seed "12345678901234567890", 8 digits.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
               (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


@pytest.mark.parametrize(("now", "code"), RFC_VECTORS)
def test_totp_matches_rfc_6238_vectors(now: int, code: str) -> None:
    assert totp(RFC_SECRET, now, digits=8) == code


def test_hotp_matches_rfc_4226_vectors() -> None:
    # RFC 4226 Appendix D, counters 0 and 9.
    assert hotp(b"12345678901234567890", 0) == "755224"
    assert hotp(b"12345678901234567890", 9) == "520489"


def test_verify_accepts_one_period_of_skew_and_returns_the_step() -> None:
    code = totp(RFC_SECRET, 1000.0)
    assert verify(RFC_SECRET, code, 1000.0 + 30) == 1000 // 30
    assert verify(RFC_SECRET, code, 1000.0 + 95) is None
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert verify(RFC_SECRET, wrong, 1000.0, skew=0) is None


def test_tokens_are_stored_only_as_hashes() -> None:
    token = mint()
    assert token.hash == token_hash(token.text) and token.text not in token.hash
    assert token_id_of(token.text) == token.id
    assert matches(token.text, token.hash)
    assert not matches(token.text + "x", token.hash)
    assert token_id_of("Bearer nonsense") is None


@pytest.mark.parametrize(("role", "permission", "expected"), [
    (Role.VIEWER, Permission.READ, True),
    (Role.VIEWER, Permission.REQUEST, False),
    (Role.OPERATOR, Permission.REQUEST, True),
    (Role.OPERATOR, Permission.APPROVE, False),
    (Role.OPERATOR, Permission.SKIP, False),
    (Role.APPROVER, Permission.APPROVE, True),
    (Role.APPROVER, Permission.REQUEST, False),
    (Role.APPROVER, Permission.SKIP, False),
    (Role.APPROVER, Permission.BREAK_GLASS, False),
    (Role.ADMIN, Permission.SKIP, True),
    (Role.ADMIN, Permission.BREAK_GLASS, True),
])
def test_role_table(role: Role, permission: Permission, expected: bool) -> None:
    assert allowed(role, permission) is expected


def test_refusal_names_the_role_and_who_may() -> None:
    with pytest.raises(Forbidden, match=r"viewer.*request needs one of: admin, appha, operator"):
        require(Principal(user="vic", role=Role.VIEWER), Permission.REQUEST)
