"""Who made a request: the owner of the credential it came with."""

from __future__ import annotations


def actor(caller: str, claimed: str | None) -> str:
    """Who did it: the token's owner; whom it says it acts for follows in brackets."""
    return f"{caller} (for {claimed})" if claimed and claimed != caller else caller
