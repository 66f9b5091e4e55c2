"""drcontrol package."""
