"""Typed input of the API: pydantic models that validate a request and produce its OpenAPI schema.

Each use case has one model. Its fields carry the types and bounds (taken from the services' constants, so
a limit is written once); the OpenAPI document is generated from the same models, and a failed validation
becomes the usual 422 with one precise message per field. The base model and the text types are the
services' (services/input.py): a use case that staff pages share, such as a campaign, has its model there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field

from sender.services.errors import ValidationFailed
from sender.services.input import Input, NonBlank, OneOf, Text, clean_text
from sender.web.bounds import MAX_ID

__all__ = ["MAX_ID", "Id", "Input", "JsonObject", "NonBlank", "OneOf", "Query", "Text", "json_object"]

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


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
JsonObject = Annotated[dict[str, Any], AfterValidator(clean_tree)]


class Query(Input):
    """Base of query-string models: values arrive as text, so numbers are read from it."""

    model_config = ConfigDict(extra="ignore", strict=False)


def _finite(text: str) -> float:
    # NaN and Infinity are not JSON (RFC 8259), and PostgreSQL refuses them in a JSON column.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def json_object(raw: bytes, is_json: bool) -> dict[str, Any]:
    """A request body as a JSON object, or ValidationFailed on `body` (never a RecursionError)."""
    reason = "must be a JSON object (Content-Type: application/json)"
    if not is_json:
        raise ValidationFailed({"body": reason})
    try:
        data = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise ValidationFailed({"body": "is nested too deeply"}) from None
    except ValueError:
        raise ValidationFailed({"body": "is not valid JSON"}) from None
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": reason})
    return dict(data)
