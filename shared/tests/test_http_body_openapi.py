"""A body declared with json_body_openapi is described in the served document as FastAPI
describes its own: its nested models are components, and every reference resolves."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from pulse_shared.http_body import json_body_openapi, openapi_as_declared


class Period(BaseModel):
    start: str
    end: str


class SendNow(BaseModel):
    period: Period | None = None


def served() -> dict[str, Any]:
    app = FastAPI()
    app.openapi = openapi_as_declared(app)  # type: ignore[method-assign]

    @app.post("/send", openapi_extra=json_body_openapi(SendNow))
    async def send() -> None:
        return None

    return app.openapi()


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def test_a_nested_model_of_a_declared_body_is_a_component_its_reference_reaches() -> None:
    document = served()
    body = document["paths"]["/send"]["post"]["requestBody"]["content"]["application/json"]
    assert "$defs" not in body["schema"]
    assert document["components"]["schemas"]["Period"]["required"] == ["start", "end"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"]
