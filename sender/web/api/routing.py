"""What a route of the API declares, once: its rule, view and permission, and what the document says of it.

The table of every route is sender.web.api.routes; `add_routes` puts it on the blueprint, the token check
reads each route's permission from it, and sender.web.api.openapi writes the document from it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from flask import Blueprint
from flask.typing import ResponseReturnValue

from sender.web.api.schemas.base import Input
from sender.web.api.spec import ID, Schema
from sender.web.bounds import KEY_PATTERN, KeyConverter, RecordIdConverter

PREFIX = "/api/v1"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# A variable of a rule: <converter:name>.
VARIABLE = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")


class IdConverter(RecordIdConverter):
    """A record id in a path (the staff pages' converter), documented as the API's id schema."""

    schema: ClassVar[dict[str, Any]] = ID


class TokenConverter(KeyConverter):
    """A slug or a public id in a path (the staff pages' converter), documented with its pattern."""

    schema: ClassVar[dict[str, Any]] = {"type": "string", "pattern": f"^{KEY_PATTERN}$"}


# The converters of API paths, by the name rules use; each documents what it accepts (anything else is 404).
CONVERTERS: dict[str, type[IdConverter] | type[TokenConverter]] = {"id": IdConverter, "key": TokenConverter}


@dataclass(frozen=True)
class Answer:
    """A success answer of an operation: its status, what it means and the schema of its body."""

    status: int
    description: str
    schema: Schema | None = None
    media_type: str = "application/json"
    # Other media types the same answer may take (chosen by a query parameter), each a text body.
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Form:
    """A multipart/form-data body (an upload), documented by a hand-written schema."""

    schema: dict[str, Any]


@dataclass(frozen=True)
class Route:
    """One operation of the API: rule, view, permission, and its OpenAPI text.

    `errors` lists only what the route's shape does not imply: every operation documents 401 (unless
    public), a write or a read with a permission 403, a path with parameters 404, a body 413 and 422, a query model 422. The tag and
    the descriptions of path parameters are those of the route's group (`tagged`).
    """

    rule: str  # method and path below PREFIX, e.g. "GET /contacts/<key:public_id>" (converters: CONVERTERS)
    view: Callable[..., ResponseReturnValue]
    operation_id: str
    summary: str
    ok: Answer
    also: tuple[Answer, ...] = ()  # other success answers (a 202 when the work is queued)
    body: type[Input] | Form | None = None
    query: type[Input] | None = None
    errors: tuple[int, ...] = ()
    # The action of the permission table the caller's role must be allowed; reads need none.
    permission: str = "read"
    description: str | None = None
    public: bool = False  # served without a token
    tag: str = ""
    params: Mapping[str, str] = field(default_factory=dict)  # path parameter -> its description

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self.rule.partition(" ")[0]

    @property
    def path(self) -> str:
        """The Flask rule below PREFIX."""
        return self.rule.partition(" ")[2]

    @property
    def endpoint(self) -> str:
        """The endpoint name below the blueprint's (url_for("api.<endpoint>"))."""
        return self.view.__name__

    @property
    def template(self) -> str:
        """The path as the document writes it: "/contacts/{public_id}"."""
        return VARIABLE.sub(r"{\2}", self.path)

    @property
    def variables(self) -> list[tuple[str, str]]:
        """(name, converter) of each variable of the path, in order."""
        return [(name, converter or "default") for converter, name in VARIABLE.findall(self.path)]

    def error_statuses(self) -> list[int]:
        """Every error status the operation documents."""
        implied = set() if self.public else {401}
        # Writes, and reads kept to some roles, refuse the others.
        if self.method not in READ_METHODS or self.permission != "read":
            implied.add(403)
        if self.variables:
            implied.add(404)
        if self.body is not None:
            implied |= {413, 422}
        if self.query is not None:
            implied.add(422)
        return sorted(implied | set(self.errors))


def tagged(tag: str, params: Mapping[str, str], *routes: Route) -> tuple[Route, ...]:
    """A group of routes under one OpenAPI tag, with the descriptions of the path parameters they use."""
    return tuple(replace(route, tag=tag, params=params) for route in routes)


def _check(route: Route) -> None:
    """Refuse a route the document or the token check could not describe: fail at start, not at a call."""
    if route.method not in METHODS or not route.path.startswith("/") or not route.tag:
        raise ValueError(f"{route.rule}: write a method, a path from / and put the route in a tagged group")
    if route.method not in READ_METHODS and route.permission == "read" and not route.public:
        raise ValueError(f"{route.rule}: a write must name the permission it needs")
    for variable, converter in route.variables:
        if converter not in CONVERTERS:
            raise ValueError(f"{route.rule}: <{variable}> needs a converter of CONVERTERS")
        if variable not in route.params:
            raise ValueError(f"{route.rule}: its group describes no path parameter {variable}")


def add_routes(bp: Blueprint, routes: Iterable[Route]) -> None:
    """Add each route's rule to the blueprint, under its view's name."""
    seen: set[str] = set()
    for route in routes:
        _check(route)
        if route.endpoint in seen:
            raise ValueError(f"{route.rule}: the view {route.endpoint} serves another route")
        seen.add(route.endpoint)
        bp.add_url_rule(route.path, route.endpoint, route.view, methods=[route.method])
