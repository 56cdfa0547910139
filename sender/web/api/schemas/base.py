"""Typed input of the API: pydantic models that validate a request and produce its OpenAPI schema.

Each use case has one model. Its fields carry the types and bounds (taken from the services' constants, so
a limit is written once); the OpenAPI document is generated from the same models, and a failed validation
becomes the usual 422 with one precise message per field. The base model and the text types are the
services' (services/input.py): a use case that staff pages share, such as a campaign, has its model there.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict

from sender.services.input import Id, Input, NonBlank, OneOf, Text, clean_text
from sender.web.bounds import MAX_ID

__all__ = ["MAX_ID", "Id", "Input", "JsonObject", "NonBlank", "OneOf", "Query", "Text"]

# Nesting allowed inside free-form objects (contact attributes): enough for data, far from any stack limit.
MAX_DEPTH = 5


def _check_tree(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"must not be nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        clean_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            clean_text(key)
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def clean_tree(value: dict[str, Any]) -> dict[str, Any]:
    """Apply clean_text to every key and string of a JSON object, and bound its nesting."""
    _check_tree(value, 1)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(clean_tree)]


class Query(Input):
    """Base of query-string models: values arrive as text, so numbers are read from it."""

    model_config = ConfigDict(extra="ignore", strict=False)
