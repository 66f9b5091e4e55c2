"""Byte-level Oracle redo reading: files, blocks, records, change vectors, operations."""
