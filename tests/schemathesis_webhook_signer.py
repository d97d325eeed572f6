"""schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by
test_webhook_openapi_conformance.py): each webhook delivery the run sends is signed the way
its platform signs it, over the exact bytes sent, so a schema-valid delivery reaches the
receiver's parser and is taken (200) instead of stopping at the signature (401).

The run presents each service's signature header with the value UNSIGNED (the headers of
its [[project]] in schemathesis-webhooks.toml): only a request still carrying that value is
signed. The checks' own probes (ignored_auth sends one without the header and one with
another value) leave unsigned, and must be refused with 401. The secret is the service's,
PULSE_WEBHOOK_SECRET in the environment the test gives this run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from typing import Any

import requests
import schemathesis

UNSIGNED = "unsigned"


def _hmac(body: bytes, prefix: bytes = b"") -> bytes:
    secret = os.environ["PULSE_WEBHOOK_SECRET"].encode()
    return hmac.new(secret, prefix + body, hashlib.sha256).digest()


# Each platform's signature header and how it signs a body, from its documentation.
SIGNERS: dict[str, Callable[[bytes], str]] = {
    # X: sha256= and the base64 HMAC of the body under the consumer secret.
    "x-twitter-webhooks-signature": lambda body: "sha256=" + base64.b64encode(_hmac(body)).decode(),
    # LinkedIn: the hex HMAC of "hmacsha256=" and the body under the client secret.
    "x-li-signature": lambda body: _hmac(body, b"hmacsha256=").hex(),
    # Meta: sha256= and the hex HMAC of the body under the app secret.
    "x-hub-signature-256": lambda body: "sha256=" + _hmac(body).hex(),
}


class SignDelivery(requests.auth.AuthBase):
    """Replaces an UNSIGNED signature header by the body's signature, once the request is
    prepared (its body is then the bytes that go out)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        # A prepared request's body is str or bytes (a stream only when given one).
        assert isinstance(body, str | bytes), type(body)
        raw = body.encode() if isinstance(body, str) else body
        for header, sign in SIGNERS.items():
            if request.headers.get(header) == UNSIGNED:
                request.headers[header] = sign(raw)
        return request


@schemathesis.hook
def before_call(
    context: schemathesis.HookContext, case: schemathesis.Case[Any], kwargs: dict[str, Any]
) -> None:
    if case.operation.method.upper() == "POST" and case.operation.path == "/webhooks":
        kwargs["auth"] = SignDelivery()
