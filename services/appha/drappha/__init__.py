"""drappha package."""
