"""Identifiers that cross service boundaries and may reach a command line.

An operation id (control's ``op-…``, appha's ``auto-…``, a replay's) starts with a
letter or digit, so it can never be read as an option (``--force``) by a program it is
passed to, and holds only letters, digits and ``_ . : -``, so it needs no quoting.
"""

from __future__ import annotations

import re

OPERATION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"
OPERATION_ID = re.compile(OPERATION_ID_PATTERN)


def looks_like_option(value: str) -> bool:
    """Whether a program could take ``value``, as a whole argument, for an option."""
    return value.startswith("-")
