"""Pulse's shared library: the contracts between services live here, once."""
