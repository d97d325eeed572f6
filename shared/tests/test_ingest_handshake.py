"""The handshakes' shared rules: the whole token must have the shape, and a refusal names
the parameter and the shape wanted, never the value given."""

from __future__ import annotations

import re

from pulse_shared.ingest.handshake import conforms, refused

DIGITS = re.compile(r"[0-9]{1,5}")


def test_the_whole_token_must_have_the_shape() -> None:
    assert conforms("12345", DIGITS)
    assert not conforms("123456", DIGITS)
    assert not conforms("123\n", DIGITS)  # a trailing newline is not the end of the token
    assert not conforms("x123", DIGITS)
    assert not conforms("", DIGITS)
    assert not conforms(None, DIGITS)


def test_a_refusal_is_a_short_json_400_naming_the_parameter() -> None:
    assert refused("hub.challenge", "a number") == (
        400,
        "application/json",
        {"error": "query parameter hub.challenge must be a number"},
    )
