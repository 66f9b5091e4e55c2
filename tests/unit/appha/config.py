"""Minimal valid application settings for unit tests (plain dicts, as TOML would give)."""

from __future__ import annotations

from typing import Any


def app(**over: Any) -> dict[str, Any]:
    """One application with an HTTP check per site and a command traffic action."""
    base: dict[str, Any] = {
        "primary": {
            "servers": ["10.0.0.1:80"],
            "marker": "site=cloud",
            "checks": [
                {
                    "kind": "http",
                    "url": "http://10.0.0.1/health",
                    "interval_seconds": 2,
                    "timeout_seconds": 1,
                }
            ],
        },
        "standby": {
            "servers": ["192.168.0.1:80"],
            "marker": "site=local",
            "checks": [
                {
                    "kind": "tcp",
                    "host": "192.168.0.1",
                    "port": 80,
                    "interval_seconds": 4,
                    "timeout_seconds": 1,
                }
            ],
        },
        "detection": {"switch_after_failures": 3, "switch_after_seconds": 5},
        "anti_flap": {"hold_down_seconds": 10},
        "traffic": {"kind": "command", "argv": ["/bin/true", "{site}"], "timeout_seconds": 7},
        "verify": {"url": "http://example/__site", "timeout_seconds": 20},
    }
    base.update(over)
    return base
