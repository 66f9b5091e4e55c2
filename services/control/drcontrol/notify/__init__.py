"""Notifications: webhook and e-mail channels fed by one queue."""
