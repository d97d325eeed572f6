"""Pulse ingest for X (Twitter)."""
