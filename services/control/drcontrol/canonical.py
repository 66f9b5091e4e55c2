"""Canonical JSON and its sha256: the basis of evidence digests and the audit chain.

Canonical = keys sorted, no insignificant white space, UTF-8, no NaN. Python's float
``repr`` round-trips, so a document read back from storage hashes the same.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """The one text form of ``value`` that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def digest(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
