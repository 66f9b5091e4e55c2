"""Byte-level Oracle redo reading: files, blocks, records, change vectors, operations.

Entry points: :class:`drcapture.redo.blocks.RedoFile` over a
:class:`~drcapture.redo.blocks.BlockSource`, :func:`drcapture.redo.reader.iter_records`,
and :class:`drcapture.redo.txn.assembler.TransactionAssembler`. Layout constants for
writers are in :mod:`drcapture.redo.layout` and the ``ops`` modules.
"""
