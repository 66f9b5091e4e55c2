"""Oracle data dictionary as capture needs it: object number -> table, columns, types."""
