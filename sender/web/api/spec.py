"""Hand-written parts of the OpenAPI document: named component schemas of responses and small builders.

Request bodies and query parameters are generated from the pydantic input models (sender.web.api.openapi);
the JSON shapes the presenters answer with are declared here as `Component`s, next to nothing else. A
schema may hold a `Component` (or a pydantic model) wherever a `$ref` would go: the document references
it and lists it once under components/schemas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from sender.web.bounds import MAX_ID


class Component:
    """A named schema of components/schemas; the document refers to it by `$ref` wherever it is used."""

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name = name
        self.schema = schema

    def __repr__(self) -> str:
        return f"Component({self.name!r})"


# What a route may declare as a body or an answer: an inline schema, a component, or a pydantic model.
Schema = dict[str, Any] | Component | type[BaseModel]

ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with a trailing Z"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema, also allowing null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], required: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """An object schema."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    required = list(required)
    if required:
        schema["required"] = required
    return schema


def items_of(item: Component) -> dict[str, Any]:
    """Schema of an unpaged collection."""
    return obj({"items": {"type": "array", "items": item}}, ["items"])


def page_of(item: Component) -> dict[str, Any]:
    """Schema of one page of items with its next cursor."""
    return obj(
        {"items": {"type": "array", "items": item}, "next_cursor": nullable({"type": "string"})},
        ["items", "next_cursor"],
    )


def fields_of(model: type[BaseModel]) -> dict[str, Any]:
    """The properties of an input model, as an output schema shows them (no default, no title)."""
    return {
        name: {k: v for k, v in prop.items() if k not in ("default", "title")}
        for name, prop in model.model_json_schema()["properties"].items()
    }
