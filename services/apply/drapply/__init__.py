"""drapply package."""
