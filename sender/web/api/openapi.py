"""The OpenAPI 3.1 document of API v1, written from the route table and the pydantic input models.

Each route (sender.web.api.routes) gives its operation id, summary, success answers, errors and
permission; path parameters come from the rule's converters, request bodies and query parameters from the
input models that validate them, and response bodies from the components the route names
(sender.web.api.spec). tests/api/test_openapi.py checks the document against the app's url_map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from sender.services.accounts import permissions
from sender.web.api.routing import CONVERTERS, PREFIX, Answer, Form, Route
from sender.web.api.spec import Component, obj

REF_TEMPLATE = "#/components/schemas/{model}"

ERROR_TEXT = {
    401: ("Unauthorized", "Missing, unknown or revoked bearer token."),
    403: ("Forbidden", "The token's role may not perform this operation (see x-roles and README)."),
    404: ("NotFound", "No such record."),
    409: ("Conflict", "Duplicate, suppressed address, or a state that forbids the change."),
    413: ("TooLarge", "The request body exceeds the configured maximum size."),
    422: ("Invalid", "A field is missing or wrong; `fields` names each one with its reason."),
    503: (
        "Unavailable",
        "The queue (Redis) is unreachable; the work is recorded and picked up once it is back.",
    ),
}
ERROR = Component(
    "Error", obj({"error": {"type": "string"}, "message": {"type": "string"}}, ["error", "message"])
)
VALIDATION_ERROR = Component(
    "ValidationError",
    obj(
        {
            "error": {"const": "validation_failed"},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        ["error", "message", "fields"],
    ),
)
INFO = {
    "title": "sender API",
    "version": "1",
    "description": "Contacts, purposes, consent, lists and campaigns. Send `Authorization: Bearer "
    "<token>`; each operation's `x-roles` lists the roles allowed (others get 403). Contacts are "
    "identified by their opaque public id.",
}


class _Components:
    """The component schemas met while writing the document, each under its one name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}
        self._owners: dict[str, object] = {}

    def _claim(self, name: str, owner: object) -> bool:
        """True the first time a name is met; a second owner of one name is a mistake in the table."""
        if name in self._owners:
            if self._owners[name] is not owner:
                raise ValueError(f"two different schemas are named {name}")
            return False
        self._owners[name] = owner
        return True

    def resolve(self, value: Any) -> Any:
        """The value with each Component or pydantic model replaced by a `$ref`, and listed once."""
        if isinstance(value, Component):
            if self._claim(value.name, value):
                self.schemas[value.name] = self.resolve(value.schema)
            return {"$ref": REF_TEMPLATE.format(model=value.name)}
        if isinstance(value, type) and issubclass(value, BaseModel):
            if self._claim(value.__name__, value):
                schema = value.model_json_schema(ref_template=REF_TEMPLATE)
                # Nested models keep pydantic's names; one used by several inputs is listed once.
                for name, nested in schema.pop("$defs", {}).items():
                    self.schemas.setdefault(name, nested)
                self.schemas[value.__name__] = schema
            return {"$ref": REF_TEMPLATE.format(model=value.__name__)}
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


def query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query parameters an input model reads, with their schemas and descriptions."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", None) or prop.get("anyOf", [{}])[0].pop("description", name)
        # A query parameter is absent rather than null.
        options = [o for o in prop.pop("anyOf", []) if o.get("type") != "null"]
        if options:
            prop = {**options[0], **prop}
        if prop.get("default", "") is None:
            del prop["default"]
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": prop,
            }
        )
    return params


def _path_params(route: Route) -> list[dict[str, Any]]:
    """The path's variables, documented as their converters accept them."""
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": route.params[name],
            "schema": CONVERTERS[converter].schema,
        }
        for name, converter in route.variables
    ]


def _answer(answer: Answer, components: _Components) -> dict[str, Any]:
    content = {} if answer.schema is None else {"schema": components.resolve(answer.schema)}
    texts = {media: {"schema": {"type": "string"}} for media in answer.alternatives}
    return {"description": answer.description, "content": {answer.media_type: content, **texts}}


def _operation(route: Route, components: _Components) -> dict[str, Any]:
    """One operation of the document."""
    responses = {str(a.status): _answer(a, components) for a in (route.ok, *route.also)}
    for code in route.error_statuses():
        responses[str(code)] = {"$ref": f"#/components/responses/{ERROR_TEXT[code][0]}"}
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if route.description:
        op["description"] = route.description
    params = _path_params(route) + (query_params(route.query) if route.query else [])
    if params:
        op["parameters"] = params
    if isinstance(route.body, Form):
        op["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": route.body.schema}},
        }
    elif route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.resolve(route.body)}},
        }
    if route.public:
        op["security"] = []
    else:
        op["x-roles"] = permissions.roles_for(route.permission)
    return op


def _error_responses(components: _Components) -> dict[str, Any]:
    return {
        name: {
            "description": text,
            "content": {
                "application/json": {"schema": components.resolve(VALIDATION_ERROR if code == 422 else ERROR)}
            },
        }
        for code, (name, text) in ERROR_TEXT.items()
    }


def document(routes: Iterable[Route]) -> dict[str, Any]:
    """The whole OpenAPI document of these routes."""
    components = _Components()
    responses = _error_responses(components)
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components.schemas,
            "responses": responses,
        },
    }
