"""drcommon package."""
