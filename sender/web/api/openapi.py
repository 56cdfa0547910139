"""The OpenAPI 3.1 document of API v1, assembled from the `PATHS` and `SCHEMAS` of each resource module.

A resource module documents its own routes next to them: it defines `PATHS` (OpenAPI path items keyed
by the path below the server URL /api/v1, e.g. "/contacts/{public_id}") and `SCHEMAS` (component
schemas), built with the helpers below. Request bodies and query parameters are generated from the
pydantic input models that validate them (`input_schemas`, `query_params`), so a limit is written once.
To add a resource, list its module in RESOURCE_MODULES. tests/api/test_openapi.py checks the document
against the app's url_map.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue

from sender.services.accounts import permissions
from sender.web.api import KEY_PATTERN, PUBLIC_ENDPOINTS, bp, permission_of
from sender.web.api.schemas.base import MAX_ID, Input
from sender.web.api.schemas.paging import PageQuery

API_PREFIX = bp.url_prefix or ""
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# Modules of sender.web.api whose PATHS/SCHEMAS are merged into the document, in this order.
RESOURCE_MODULES = (
    "purposes",
    "contacts",
    "consents",
    "lists",
    "campaigns",
    "imports",
    "requests",
    "sms",
    "requalifications",
)

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
WRITE_ERRORS = (401, 403, 413, 422)


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


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


# Path parameters, as the app's url converters accept them (anything else is a 404).
KEY = {"type": "string", "pattern": f"^{KEY_PATTERN}$"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A required path parameter (a slug or public id unless a schema is given)."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or KEY,
    }


REF_TEMPLATE = "#/components/schemas/{model}"


def input_schemas(*models: type[Input]) -> dict[str, Any]:
    """Component schemas of request bodies, generated from their input models (nested models included)."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def query_params(model: type[Input]) -> list[dict[str, Any]]:
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


PAGE_PARAMS = query_params(PageQuery)
TIMESTAMP = {"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with a trailing Z"}


def items_of(item: str) -> dict[str, Any]:
    """Schema of an unpaged collection."""
    return obj({"items": {"type": "array", "items": ref(item)}}, ["items"])


def page_of(item: str) -> dict[str, Any]:
    """Schema of one page of items with its next cursor."""
    return obj(
        {"items": {"type": "array", "items": ref(item)}, "next_cursor": nullable({"type": "string"})},
        ["items", "next_cursor"],
    )


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    ok: tuple[int, str, dict[str, Any] | None],
    body: dict[str, Any] | None = None,
    params: Iterable[dict[str, Any]] = (),
    errors: Iterable[int] = (401,),
    description: str | None = None,
) -> dict[str, Any]:
    """One operation: its success response (status, description, schema), request body and errors."""
    status, ok_text, ok_schema = ok
    success: dict[str, Any] = {"description": ok_text}
    if ok_schema is not None:
        success["content"] = {"application/json": {"schema": ok_schema}}
    responses: dict[str, Any] = {str(status): success}
    for code in sorted(set(errors)):
        responses[str(code)] = {"$ref": f"#/components/responses/{ERROR_TEXT[code][0]}"}
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": responses,
    }
    if description:
        op["description"] = description
    params = list(params)
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _components() -> dict[str, Any]:
    error = obj(
        {"error": {"type": "string"}, "message": {"type": "string"}},
        ["error", "message"],
    )
    invalid = obj(
        {
            "error": {"const": "validation_failed"},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        ["error", "message", "fields"],
    )
    responses = {
        name: {
            "description": text,
            "content": {"application/json": {"schema": ref("ValidationError" if code == 422 else "Error")}},
        }
        for code, (name, text) in ERROR_TEXT.items()
    }
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": error, "ValidationError": invalid},
        "responses": responses,
    }


def _document_roles(paths: dict[str, Any]) -> None:
    """Add `x-roles` to each operation: the roles the permission table lets call it, read from the views."""
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith(f"{bp.name}.") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        template = _CONVERTER.sub(r"{\1}", rule.rule).removeprefix(API_PREFIX)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = paths.get(template, {}).get(method.lower())
            if operation is not None:
                operation["x-roles"] = permissions.roles_for(permission_of(rule.endpoint, method) or "")


def build_document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    components = _components()
    paths: dict[str, Any] = {}
    for name in RESOURCE_MODULES:
        module = importlib.import_module(f"sender.web.api.{name}")
        components["schemas"].update(getattr(module, "SCHEMAS", {}))
        for path, item in getattr(module, "PATHS", {}).items():
            paths.setdefault(path, {}).update(item)
    _document_roles(paths)
    paths["/openapi.json"] = {
        "get": {
            "operationId": "getOpenApi",
            "summary": "This document",
            "tags": ["meta"],
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sender API",
            "version": "1",
            "description": "Contacts, purposes, consent, lists and campaigns. Send `Authorization: Bearer "
            "<token>`; each operation's `x-roles` lists the roles allowed (others get 403). Contacts are "
            "identified by their opaque public id.",
        },
        "servers": [{"url": API_PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": components,
    }


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """Serve the OpenAPI document (public)."""
    return jsonify(build_document())
