"""Pulse aggregator: the only writer of analytics data."""
