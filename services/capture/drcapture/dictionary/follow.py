"""One committed transaction, in commit order, against the dictionary versions: which
version its records are made with, and the new version it makes if it is a DDL.

The pipeline (after the RAC merge) and ``drcapture decode`` (after sorting) both go
through :func:`follow`, so a log decodes the same offline as in the service.
"""

from __future__ import annotations

from dataclasses import dataclass

from drcapture.dictionary.system import DictionaryChangeSet
from drcapture.dictionary.versions import DictionaryVersions, Version
from drcapture.native_txn import CoreDictionary, NativeCommit


@dataclass(frozen=True, slots=True)
class Followed:
    """What :func:`follow` decided for one commit."""

    publish: bool  # it has changes to publish (not a bare dictionary transaction)
    entry: DictionaryChangeSet | None = None  # the changes that made a new version
    before: Version[CoreDictionary] | None = None  # the version before that one
    version: Version[CoreDictionary] | None = None  # the new version


def follow(tx: NativeCommit, versions: DictionaryVersions[CoreDictionary]) -> Followed:
    """Make ``tx``'s records with the version valid at its commit; if its dictionary
    changes alter the tracked rows, apply them (a new version from its SCN on)."""
    entry = None
    if tx.has_system_changes:
        changes = tuple(tx.system_changes())
        entry = versions.effective(DictionaryChangeSet(scn=tx.commit_scn, xid=str(tx.xid),
                                                       changes=changes))
    if entry is None:
        tx.use_dictionary(versions.current.core)
        # Nothing to publish: only dictionary changes (statistics, a segment created), or
        # only changes of objects created since the configured dictionary that this
        # version says nobody asked for.
        return Followed(publish=bool(tx.changes_total))
    before = versions.current
    version = versions.advance(entry)
    # The DDL itself names its table as the version before it knew it (a DROP), or, for
    # a table that version did not know or capture (a CREATE, a RENAME into the filter),
    # as the new one does.
    tx.use_dictionary(before.core)
    if not tx.change_lines():
        tx.use_dictionary(version.core)
    # A version that changes a table is published even with no change to show (a RENAME
    # of a table the version before did not capture, whose 24.1 the core left out): the
    # checkpoint then passes it, and a restart, which rebuilds this version from Kafka,
    # does not apply it twice. One that changes no table (a segment created on first
    # insert) goes to Kafka with the next publish past it.
    publish = bool(tx.changes_total) or bool(version.changed_tables)
    return Followed(publish=publish, entry=entry, before=before, version=version)
