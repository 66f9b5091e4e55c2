"""``python -m drapply`` / the ``drapply`` console script."""

from __future__ import annotations

from drapply.cli import main

if __name__ == "__main__":
    main()
