"""Seed corpora for the core's fuzz targets (services/capture/core/fuzz), from real redo.

* ``walk``: small logs (the oracdc records wrapped at every block size, a few random
  writer workloads), each behind the target's five control bytes (flags, resume);
* ``record``: every oracdc record;
* ``values``: the value bytes of the writer's property-test tables, behind a pick byte.

Run from the repository root with the project's venv:
``.venv/bin/python services/capture/core/tools/fuzz_seeds.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from drcapture.synth.writer import wrap_records

ROOT = Path(__file__).resolve().parents[4]
CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
ORACDC = ROOT.parent / "shared" / "fixtures" / "redo" / "oracdc-records"


def _put(target: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    groups: dict[str, list[bytes]] = {}
    for entry in json.loads((ORACDC / "index.json").read_text()):
        data = (ORACDC / entry["file"]).read_bytes()
        groups.setdefault(entry["layout"], []).append(data)
        _put("record", data)
    for layout, records in groups.items():
        for size in (512, 1024, 4096):
            chunks = [records[i : i + 4] for i in range(0, min(len(records), 24), 4)]
            for chunk in chunks:
                log = wrap_records(chunk, layout, block_size=size)
                for flags in (0, 1, 2, 3):
                    _put("walk", bytes([flags, 0, 0, 0, 0]) + log)
    for number in (b"\x80", b"\xc1\x02", b"\x3e\x64\x66", b"\xff\x65"):
        _put("values", b"\x06" + number)
    for stamp in (bytes.fromhex("7878010101010100000000899c"), bytes.fromhex("7877061e0c1e1f")):
        _put("values", b"\x03" + stamp)


if __name__ == "__main__":
    main()
