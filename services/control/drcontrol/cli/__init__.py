"""``drctl``: the operator's command line against a running control service."""
