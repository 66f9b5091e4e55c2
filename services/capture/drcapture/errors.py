"""Capture's own errors (the shared families are in :mod:`drcommon.errors`)."""

from __future__ import annotations

from drcommon.errors import ParseError

__all__ = ["UndecodableChange"]


class UndecodableChange(ParseError):
    """A change to a captured table that capture cannot decode fully: an operation,
    row layout, compression or LOB variant it does not know. Raised with what is known
    of where it is (table or object, XID, SCN, RBA, opcode); what capture then does is
    ``source.on_undecodable``: stop (the default), or publish the change marked
    ``undecoded``. Never a silent skip."""
