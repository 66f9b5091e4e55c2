"""drcapture package."""
