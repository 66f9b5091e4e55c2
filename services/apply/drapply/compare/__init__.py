"""``drapply compare`` / ``repair``: prove the DR copy equal to the source, or say where
it is not, and make it equal.

Each DR chunk is read together with its stream's applied SCN in one snapshot of the DR
database (the checkpoint row moves in the same transaction as the rows), then the same
key range is read at the source as of that SCN: no hold needed. Rows are compared by a
hash over a canonical text (:mod:`~drapply.compare.canonical`); rows that differ are
read again by key in a fresh snapshot to name the columns that differ.
"""
