"""Test tooling, not production code: a redo log writer that lays out records, blocks
and checksums the way Oracle does, and a workload builder that turns row operations
into such logs with the facts a reader must recover.

Tests, benchmarks and the demo use it to produce redo no Oracle database is needed
for. Nothing under ``drcapture`` outside this package imports it.
"""
