"""JSON request bodies as every Pulse API reads them, and their OpenAPI description.

A body is read after the caller's token is checked (nothing of it is parsed for a
stranger), refused with 400 when it is not JSON and with 422 naming each field otherwise;
its schema goes into the OpenAPI document exactly as declared (``openapi_as_declared``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, BeforeValidator, ValidationError

M = TypeVar("M", bound=BaseModel)

# Below this a whole float is the number its digits wrote; from it on, not always
# (9007199254740993.0 is read as 2**53).
FLOAT_EXACT_BELOW = 2**53


def _whole_float_as_integer(value: object) -> object:
    """JSON spells one number 42 or 42.0, and JSON Schema's integer is either spelling: a
    whole float is read as its integer where that integer is surely the one written."""
    if isinstance(value, float) and value.is_integer() and abs(value) < FLOAT_EXACT_BELOW:
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_float_as_integer)
WHOLE_NUMBER_NOTE = (
    "Written with a fraction (42.0), a whole number is read below 2**53 and refused with "
    "422 from there on, where a float may not be the number its digits say"
)


def parse_json_body(raw: bytes, model: type[M]) -> M:
    """The body as ``model``: 400 when it is not JSON, 422 naming each offending field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise HTTPException(400, "the body is not JSON") from None
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


# Where a document's schemas live, and so where a body's nested models are referred to.
COMPONENT_REF = "#/components/schemas/"


def json_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route whose body a dependency reads with parse_json_body.
    Its nested models are referred to as components, as FastAPI refers to its own:
    openapi_as_declared files their definitions there."""
    schema = model.model_json_schema(ref_template=COMPONENT_REF + "{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def file_definitions(operation: dict[str, Any], document: dict[str, Any]) -> None:
    """A declared body's nested models, moved from its schema's own ``$defs`` (which,
    relative to the document, resolve nowhere) into the document's components, where its
    references point. A name FastAPI filed already keeps FastAPI's schema."""
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for content in operation.get("requestBody", {}).get("content", {}).values():
        for name, definition in content.get("schema", {}).pop("$defs", {}).items():
            schemas.setdefault(name, definition)


def openapi_as_declared(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``, with what each route declares in ``openapi_extra`` put back
    exactly as written. FastAPI passes the document through models that hold every
    numeric bound as a float: a ``business_id`` maximum of 2**63 - 1 came out as
    9.223372036854776e18, that is 2**63, a business id the API refuses."""

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)
        if getattr(app.state, "openapi_as_declared", None) is not document:
            for route in iter_route_contexts(app.routes):
                extra = getattr(route, "openapi_extra", None)
                if extra and route.path_format in document["paths"]:
                    for method in getattr(route, "methods", ()):
                        operation = document["paths"][route.path_format][method.lower()]
                        operation.update(copy.deepcopy(extra))
                        file_definitions(operation, document)
            app.state.openapi_as_declared = document
        return document

    return openapi
