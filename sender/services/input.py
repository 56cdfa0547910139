"""Typed input: pydantic models that validate one use case's input, whoever gives it (API, staff pages, CLI).

Each use case has one model. Its fields carry the types and bounds (taken from the services' constants, so
a limit is written once); the API's OpenAPI document is generated from the same models, and a failed
validation becomes ValidationFailed with one precise message per field (the API's 422, the staff pages'
messages beside their fields).
"""

from __future__ import annotations

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

from sender.db import MAX_INT
from sender.i18n import N_
from sender.services.errors import ValidationFailed

M = TypeVar("M", bound="Input")


# The reasons, marked for the catalogue: staff pages show them translated.
NUL_REFUSED = N_("must not contain NUL characters")
SURROGATE_REFUSED = N_("must not contain lone surrogates (invalid Unicode)")
INT_REFUSED = N_("must be a whole number from %(low)d to %(high)d")
# The values of INT_REFUSED's placeholders (every reason is formatted with them; only it has any).
INT_RANGE = {"low": -MAX_INT - 1, "high": MAX_INT}


def clean_text(value: str) -> str:
    """Refuse text that cannot be stored or encoded: NUL bytes (PostgreSQL) and lone surrogates."""
    if "\x00" in value:
        raise ValueError(NUL_REFUSED)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(SURROGATE_REFUSED) from None
    return value


def unstorable(value: object) -> str | None:
    """Why a submitted value cannot reach the database (bad text, an integer beyond a column), or None.

    The rule of the text types and of the integer bounds, for input that no model reads (staff forms,
    fields a view reads itself); a list is refused for its first bad item. The reason is a catalogue
    message: format it with INT_RANGE (after translating it, on a page).
    """
    if isinstance(value, str):
        try:
            clean_text(value)
        except ValueError as exc:
            return str(exc)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not INT_RANGE["low"] <= value <= INT_RANGE["high"]:
            return INT_REFUSED
    elif isinstance(value, list | tuple):
        return next((found for item in value if (found := unstorable(item))), None)
    return None


def refuse_unstorable(values: Mapping[str, object]) -> None:
    """ValidationFailed naming each value that cannot reach the database, with its reason."""
    errors = {name: reason % INT_RANGE for name, value in values.items() if (reason := unstorable(value))}
    if errors:
        raise ValidationFailed(errors)


def not_blank(value: str) -> str:
    """Refuse a string of spaces only."""
    if not value.strip():
        raise ValueError(N_("is required and must not be blank"))
    return value


Text = Annotated[str, AfterValidator(clean_text)]
NonBlank = Annotated[str, AfterValidator(clean_text), AfterValidator(not_blank)]
# A record id: ids are Integer columns, so a larger number names nothing.
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


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


def _choices(error: ErrorDetails) -> str:
    return str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")


def describe(error: ErrorDetails) -> str:
    """A short, stable English message for one pydantic error."""
    kind = error["type"]
    ctx = error.get("ctx", {})
    simple = {
        "missing": N_("is required"),
        "extra_forbidden": N_("unknown field"),
        "string_type": N_("must be a string"),
        "string_unicode": N_("must not contain lone surrogates (invalid Unicode)"),
        "int_type": N_("must be an integer"),
        "int_parsing": N_("must be an integer"),
        "int_from_float": N_("must be an integer"),
        "bool_type": N_("must be true or false"),
        "bool_parsing": N_("must be true or false"),
        "list_type": N_("must be an array"),
        "dict_type": N_("must be an object"),
        "model_type": N_("must be an object"),
        "model_attributes_type": N_("must be an object"),
        "datetime_type": N_("must be an ISO 8601 date-time string"),
        "datetime_parsing": N_("must be an ISO 8601 date-time string"),
        "datetime_from_date_parsing": N_("must be an ISO 8601 date-time string"),
        "timezone_aware": N_("must include a time zone, e.g. 2026-12-01T09:00:00Z"),
        "none_required": N_("must be null"),
    }
    if kind in simple:
        return simple[kind]
    if kind in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
        return N_("must not be empty")
    if kind == "string_too_short":
        return N_("must be at least %(n)d characters", n=ctx["min_length"])
    if kind == "string_too_long":
        return N_("must be at most %(n)d characters", n=ctx["max_length"])
    if kind == "string_pattern_mismatch":
        return N_("must match %(pattern)s", pattern=ctx["pattern"])
    # A length constraint next to a validator reports as too_short/too_long for strings too.
    text = isinstance(error.get("input"), str)
    if kind == "too_short":
        if text:
            return N_("must have at least %(n)d characters", n=ctx["min_length"])
        return N_("must have at least %(n)d items", n=ctx["min_length"])
    if kind == "too_long":
        if text:
            return N_("must have at most %(n)d characters", n=ctx["max_length"])
        return N_("must have at most %(n)d items", n=ctx["max_length"])
    bounds = {
        "greater_than_equal": N_("must be at least %(n)s", n=ctx.get("ge")),
        "greater_than": N_("must be more than %(n)s", n=ctx.get("gt")),
        "less_than_equal": N_("must be at most %(n)s", n=ctx.get("le")),
        "less_than": N_("must be less than %(n)s", n=ctx.get("lt")),
    }
    if kind in bounds:
        return bounds[kind]
    if kind in ("literal_error", "enum"):
        return N_("must be one of %(choices)s", choices=_choices(error))
    if kind == "value_error":
        cause = ctx.get("error")
        # The validator's own text as raised, so that a marked one (N_) can still be translated where shown.
        if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], str):
            return cause.args[0]
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])


class OneOf:
    """Annotated metadata: a string from a fixed set, validated and documented as an `enum`."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = tuple(values)

    def _check(self, value: str) -> str:
        if value not in self.values:
            raise ValueError(N_("must be one of %(choices)s", choices=", ".join(self.values)))
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """The string schema followed by the membership check."""
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """The string schema with its `enum`."""
        return {**handler(schema), "enum": list(self.values)}
