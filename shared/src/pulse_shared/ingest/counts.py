"""Reading a count out of a platform's JSON answer."""

from __future__ import annotations


def count_of(value: object) -> int | None:
    """A reported count, or None when absent or not a count: a negative or non-integral
    number is no count X or Meta documents, so it is treated as not reported rather than
    guessed at. (LinkedIn's may go negative, by its documentation: ingest-linkedin floors
    them instead.)"""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None
