"""drcapture's compiled core. Use it through :mod:`drcapture.native`, which types it,
converts its errors into the project's ``DRError`` subclasses and documents each call."""

from drcapture_core._core import *  # noqa: F403
from drcapture_core._core import __version__

__all__ = ["__version__"]
