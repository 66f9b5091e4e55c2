"""Transaction ids: undo segment, slot, wrap sequence."""

from __future__ import annotations

from typing import NamedTuple

from drcommon.errors import ParseError


class Xid(NamedTuple):
    """An Oracle transaction id ``usn.slot.sqn`` (immutable, ordered, hashable; a named
    tuple because one is read for every transaction begin and end).

    ``sqn`` is ``None`` where the redo names only the slot (partial-rollback vectors);
    :meth:`same_slot` compares such a partial id with a full one.
    """

    usn: int
    slot: int
    sqn: int | None

    def __str__(self) -> str:
        """``10.12.572`` (the form OpenLogReplicator and Debezium print)."""
        return f"{self.usn}.{self.slot}.{'?' if self.sqn is None else self.sqn}"

    @property
    def logminer(self) -> str:
        """LogMiner's RAW(8) form: usn u16, slot u16, sqn u32, little-endian, upper hex."""
        sqn = self.sqn or 0
        raw = self.usn.to_bytes(2, "little") + self.slot.to_bytes(2, "little")
        return (raw + sqn.to_bytes(4, "little")).hex().upper()

    def same_slot(self, other: Xid) -> bool:
        """True when both name the same undo segment and slot."""
        return self.usn == other.usn and self.slot == other.slot

    @classmethod
    def parse(cls, text: str) -> Xid:
        """Read ``10.12.572`` or the 16-hex-digit LogMiner form."""
        try:
            if "." in text:
                usn, slot, sqn = text.split(".")
                return cls(int(usn), int(slot), None if sqn == "?" else int(sqn))
            raw = bytes.fromhex(text)
            if len(raw) != 8:
                raise ValueError(text)
            return cls(int.from_bytes(raw[0:2], "little"), int.from_bytes(raw[2:4], "little"),
                       int.from_bytes(raw[4:8], "little"))
        except ValueError as exc:
            raise ParseError("not a transaction id", found=text) from exc
