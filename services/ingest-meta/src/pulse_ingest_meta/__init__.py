"""Pulse ingest for Meta (Facebook and Instagram)."""
