"""Reading the source database as it was at one SCN: the readers load and compare use.

One small interface (:class:`~drapply.snapshot.base.SnapshotReader`) with one module per
kind: Oracle (flashback query ``AS OF SCN`` through ``oracledb``) and PostgreSQL (a
database that keeps every row version with the SCN range it was valid for, which the
tests and benchmarks feed from the same workload the redo writer turns into redo).
Values leave a reader in the wire format of :mod:`drcommon.model` (exact strings), so
targets bind them with the converters apply already uses.
"""
