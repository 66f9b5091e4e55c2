"""Transaction assembly: buffered pieces per XID, row assembly at commit (separate from parsing)."""
