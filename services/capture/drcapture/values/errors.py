"""Errors of the value codecs; each names the type, the column and the bytes involved."""

from __future__ import annotations

from drcommon.errors import ParseError, UnsupportedFormat


class MalformedValue(ParseError):
    """Bytes that are not a valid encoding of the column's Oracle type.

    Raised by the decoders (a redo record that carries such bytes is damaged or was
    misread) and by the encoders (a value that the type cannot hold exactly).
    """


class UnknownCharset(UnsupportedFormat):
    """A character set this build has no codec for; the message names it."""
