"""Oracle column values: exact decoding from and encoding to Oracle's internal bytes.

Entry points: :func:`decode_column` (redo bytes to the published value) and its inverse
:func:`encode_column`; one module per type family does the work.
"""

from drcapture.values.decode import decode_column
from drcapture.values.encode import encode_column

__all__ = ["decode_column", "encode_column"]
