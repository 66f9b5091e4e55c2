"""Clients of the services control orchestrates, behind Protocols (peers/base.py)."""
