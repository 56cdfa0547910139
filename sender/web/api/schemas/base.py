"""Typed input of the API: pydantic models that validate a request and produce its OpenAPI schema.

Each use case has one model. Its fields carry the types and bounds (taken from the services' constants, so
a limit is written once); the OpenAPI document is generated from the same models, and a failed validation
becomes the usual 422 with one precise message per field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, core_schema

from sender.services.errors import ValidationFailed
from sender.web.bounds import MAX_ID

# Nesting allowed inside free-form objects (contact attributes): enough for data, far from any stack limit.
MAX_DEPTH = 5

M = TypeVar("M", bound="Input")


def clean_text(value: str) -> str:
    """Refuse text that cannot be stored or encoded: NUL bytes (PostgreSQL) and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain lone surrogates (invalid Unicode)") from None
    return value


def not_blank(value: str) -> str:
    """Refuse a string of spaces only."""
    if not value.strip():
        raise ValueError("is required and must not be blank")
    return value


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


Text = Annotated[str, AfterValidator(clean_text)]
NonBlank = Annotated[str, AfterValidator(clean_text), AfterValidator(not_blank)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
JsonObject = Annotated[dict[str, Any], AfterValidator(clean_tree)]


class Input(BaseModel):
    """Base of every input model: unknown fields refused, no silent type coercion (`true` is not 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # Field -> message replacing pydantic's for any error on that field, where the rule is easier to state whole.
    messages: ClassVar[dict[str, str]] = {}

    @classmethod
    def parse(cls: type[M], data: Any) -> M:
        """The validated input, or ValidationFailed naming each bad field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed(cls.field_errors(exc)) from None

    @classmethod
    def field_errors(cls, exc: ValidationError) -> dict[str, str]:
        """One message per top-level field, first error first."""
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            loc = error["loc"]
            field = str(loc[0]) if loc else "body"
            if field in errors:
                continue
            message = cls.messages.get(field) or describe(error)
            inner = ".".join(str(part) for part in loc[1:])
            errors[field] = f"{inner}: {message}" if inner and field not in cls.messages else message
        return errors


class Query(Input):
    """Base of query-string models: values arrive as text, so numbers are read from it."""

    model_config = ConfigDict(extra="ignore", strict=False)


def _choices(error: ErrorDetails) -> str:
    return str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")


def describe(error: ErrorDetails) -> str:
    """A short, stable English message for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    simple = {
        "missing": "is required",
        "extra_forbidden": "unknown field",
        "string_type": "must be a string",
        "string_unicode": "must not contain lone surrogates (invalid Unicode)",
        "int_type": "must be an integer",
        "int_parsing": "must be an integer",
        "int_from_float": "must be an integer",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "list_type": "must be an array",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "datetime_type": "must be an ISO 8601 date-time string",
        "datetime_parsing": "must be an ISO 8601 date-time string",
        "datetime_from_date_parsing": "must be an ISO 8601 date-time string",
        "timezone_aware": "must include a time zone, e.g. 2026-12-01T09:00:00Z",
        "none_required": "must be null",
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_too_short":
        return (
            "must not be empty"
            if ctx.get("min_length") == 1
            else f"must be at least {ctx['min_length']} characters"
        )
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx['pattern']}"
    # A length constraint next to a validator reports as too_short/too_long for strings too.
    unit = "characters" if isinstance(error.get("input"), str) else "items"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must have at least {ctx['min_length']} {unit}"
    if kind == "too_long":
        return f"must have at most {ctx['max_length']} {unit}"
    if kind in ("greater_than_equal", "greater_than"):
        return (
            f"must be {'at least' if kind.endswith('equal') else 'more than'} {ctx.get('ge', ctx.get('gt'))}"
        )
    if kind in ("less_than_equal", "less_than"):
        return (
            f"must be {'at most' if kind.endswith('equal') else 'less than'} {ctx.get('le', ctx.get('lt'))}"
        )
    if kind in ("literal_error", "enum"):
        return f"must be one of {_choices(error)}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


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


class OneOf:
    """Annotated metadata: a string from a fixed set, validated and documented as an `enum`."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(f"must be one of {', '.join(self.values)}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """The string schema followed by the membership check."""
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The string schema with its `enum`."""
        return {**handler(schema), "enum": list(self.values)}
