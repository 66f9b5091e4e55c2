"""Oracle column values: exact decoding from and encoding to Oracle's internal bytes."""
