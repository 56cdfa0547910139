"""The OpenAPI 3.1 document of API v1, assembled from the `PATHS` and `SCHEMAS` of each resource module.

A resource module documents its own routes next to them: it defines `PATHS` (OpenAPI path items keyed
by the path below the server URL /api/v1, e.g. "/contacts/{public_id}") and optionally `SCHEMAS`
(component schemas), built with the helpers below. To add a resource, list its module in
RESOURCE_MODULES; campaigns.py contributes the same way as soon as it defines PATHS (and SCHEMAS).
tests/api/test_openapi.py checks the document against the app's url_map.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from sender.web.api import bp

API_PREFIX = bp.url_prefix or ""
# Modules of sender.web.api whose PATHS/SCHEMAS are merged into the document, in this order.
RESOURCE_MODULES = ("purposes", "contacts", "consents", "lists", "campaigns", "sms")

ERROR_TEXT = {
    401: ("Unauthorized", "Missing, unknown or revoked bearer token."),
    403: ("Forbidden", "The token's role may not change data (the DPO role reads only)."),
    404: ("NotFound", "No such record."),
    409: ("Conflict", "Duplicate, suppressed address, or a state that forbids the change."),
    413: ("TooLarge", "The request body exceeds the configured maximum size."),
    422: ("Invalid", "A field is missing or wrong; `fields` names each one with its reason."),
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


def path_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A required path parameter."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def query_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


PAGE_PARAMS = [{"$ref": "#/components/parameters/Cursor"}, {"$ref": "#/components/parameters/Limit"}]
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
        "parameters": {
            "Cursor": query_param("cursor", "The next_cursor of the previous page; omit for the first page."),
            "Limit": query_param(
                "limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
            ),
        },
    }


def build_document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    components = _components()
    paths: dict[str, Any] = {}
    for name in RESOURCE_MODULES:
        module = importlib.import_module(f"sender.web.api.{name}")
        components["schemas"].update(getattr(module, "SCHEMAS", {}))
        for path, item in getattr(module, "PATHS", {}).items():
            paths.setdefault(path, {}).update(item)
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
            "description": "Contacts, purposes, consent and lists. Send `Authorization: Bearer <token>`; "
            "tokens of the DPO role may only read. Contacts are identified by their opaque public id.",
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
