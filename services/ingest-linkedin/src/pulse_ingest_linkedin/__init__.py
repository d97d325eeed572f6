"""Pulse ingest for LinkedIn."""
