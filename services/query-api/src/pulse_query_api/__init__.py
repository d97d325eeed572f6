"""Pulse query API: the read-only HTTP API behind the dashboard."""
