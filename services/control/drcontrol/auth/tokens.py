"""API tokens: ``drc_<id>_<secret>``; only the sha256 of the whole token is stored.

The id part finds the record without scanning; the secret has 256 bits of entropy, so a
plain sha256 is enough (no password stretching needed for random tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "drc"


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly minted token: ``text`` is shown once, ``hash`` is stored."""

    id: str
    text: str
    hash: str


def token_hash(text: str) -> str:
    """sha256 (hex) of the token text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mint() -> NewToken:
    """A new random token."""
    token_id = secrets.token_hex(6)
    text = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    return NewToken(token_id, text, token_hash(text))


def token_id_of(text: str) -> str | None:
    """The id part of a well-formed token, else None."""
    parts = text.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 12:
        return None
    return parts[1]


def matches(text: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(token_hash(text), stored_hash)
