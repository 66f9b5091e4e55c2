"""Process-wide tuning for the apply commands (``run``, ``once``), applied once at start.

Garbage collection: decoding a fetch builds about twenty container objects per row
change (images, tuples, bound changes) that live until their group commits. With
CPython's default thresholds (a young collection every 700 allocations, full ones as
the heap grows by a quarter) the collector walked them over and over: measured on the
apply benchmark it cost a third of the process's CPU (bench/README.md). Apply creates
no reference cycles on its data path, so collections can be rare; what start-up
built (modules, pydantic schemas, settings) is frozen out of every later collection.
"""

from __future__ import annotations

import gc

# A young collection every 50,000 allocations (a fetch of small transactions holds a
# few hundred thousand objects), a middle one every 20 of those, a full one every 100.
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Freeze what exists now and make collections rare (see the module docstring)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
