"""Operation parsers: one module per opcode family, dispatched by :mod:`.dispatch`."""
