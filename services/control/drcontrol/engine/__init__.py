"""The runbook engine: claims approved operations with a lease and drives their steps."""
