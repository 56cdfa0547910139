"""The request's input, validated by the use case's pydantic model (a 422 naming each bad field)."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request

from sender.web.api.schemas.base import Input
from sender.web.bounds import json_object

M = TypeVar("M", bound=Input)


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 422 naming what is wrong with it."""
    return json_object(request.get_data(cache=True), request.is_json)


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated by an input model, or a 422 naming each bad field."""
    return model.parse(json_body())


def parse_query(model: type[M]) -> M:
    """The query string validated by an input model, or a 422 naming each bad parameter."""
    return model.parse(request.args.to_dict())
