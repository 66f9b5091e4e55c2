"""Oracle DDL as apply sees it: statements parsed into typed actions (``statement``),
and each action translated for a target database (``translate``)."""
