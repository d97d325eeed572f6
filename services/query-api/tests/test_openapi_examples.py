"""The examples in the OpenAPI schema are valid instances of their models."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from pulse_query_api import schemas
from pulse_query_api.app import app
from pulse_query_api.routes import refresh

MODELS: dict[str, type[BaseModel]] = {
    name: model
    for module in (schemas, refresh)
    for name, model in vars(module).items()
    if isinstance(model, type) and issubclass(model, BaseModel) and model is not BaseModel
}


def test_the_schema_has_examples() -> None:
    components = app.openapi()["components"]["schemas"]
    with_examples = {name for name, schema in components.items() if "examples" in schema}
    assert {"SummaryOut", "TrendItemOut", "RefreshOut", "InsightOut"} <= with_examples


def test_the_refresh_body_is_described_with_valid_examples() -> None:
    """The body is read after the token is checked, so it is declared by hand."""
    operation = app.openapi()["paths"]["/api/v1/analytics/refresh"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["business_id"]
    assert schema["examples"]
    for example in schema["examples"]:
        refresh.RefreshIn.model_validate(example)


@pytest.mark.parametrize(
    "name", sorted(n for n, s in app.openapi()["components"]["schemas"].items() if "examples" in s)
)
def test_every_example_validates_against_its_model(name: str) -> None:
    schema = app.openapi()["components"]["schemas"][name]
    for example in schema["examples"]:
        MODELS[name].model_validate(example)
