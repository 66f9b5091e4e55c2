"""Time-zone region ids of ``TIMESTAMP WITH TIME ZONE`` values.

When bit 7 of the value's 12th byte is set, its last two bytes name a region of
Oracle's time-zone file instead of an hour/minute offset. Oracle does not publish the
id table; only ids confirmed by a public DUMP() output are listed here, each with its
source. A region id not listed decodes to the UTC offset form (the instant is exact,
the region name is lost; see docs/REDO_FORMAT.md, "Value encodings").
"""

from __future__ import annotations

REGION_FLAG = 0x80

# The two bytes as one big-endian number -> region name.
REGIONS: dict[int, str] = {
    # TIMESTAMP '1999-10-29 21:00:00 US/Pacific' dumps as ...,137,156 (question
    # "How Oracle stores timestamp with time zone internally", exchangetuts.com /
    # generacodice.com); the same bytes in T. Kyte, "Expert Oracle Database
    # Architecture", TIMESTAMP WITH TIME ZONE chapter, and comp.databases.oracle.misc
    # 2003-10-31 "TIMESTAMPTZ byte array".
    0x899C: "US/Pacific",
    # The answer to the same question: PST8PDT stores 0x83,0x64 (citing MOS 414590.1).
    0x8364: "PST8PDT",
}

REGION_IDS: dict[str, int] = {name: code for code, name in REGIONS.items()}
