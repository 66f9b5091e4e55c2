"""Runbooks as data: TOML files shipped in ``runbooks/data``, overridable by config."""
