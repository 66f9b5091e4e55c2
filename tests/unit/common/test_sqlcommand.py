"""Oracle command numbers by name, as capture's decode output and apply's errors show them."""

from __future__ import annotations

from drcommon.sqlcommand import SqlCommand, command_name


def test_named_numbers_read_as_oracle_writes_them() -> None:
    assert command_name(SqlCommand.ALTER_TABLE) == "ALTER TABLE"
    assert command_name(85) == "TRUNCATE TABLE"
    assert command_name(28) == "RENAME"


def test_a_number_not_named_here_keeps_its_number_and_none_stays_none() -> None:
    assert command_name(170) == "command 170"
    assert command_name(None) is None
