"""Byte-level Oracle redo reading in Python: files, blocks, records, change vectors,
operations. The service reads with the compiled core (:mod:`drcapture.native_txn`);
this package is the reference its differential tests compare it with, and what
``drcapture dump`` renders records with.

Entry points: :class:`drcapture.redo.blocks.RedoFile` over a
:class:`~drcapture.redo.blocks.BlockSource`, :func:`drcapture.redo.reader.iter_records`,
and :class:`drcapture.redo.txn.assembler.TransactionAssembler`. Layout constants for
writers are in :mod:`drcapture.redo.layout` and the ``ops`` modules.
"""
