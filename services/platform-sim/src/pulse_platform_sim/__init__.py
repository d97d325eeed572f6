"""Pulse platform simulator."""
