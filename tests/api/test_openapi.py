"""The OpenAPI document is valid, public, and matches the routes the app really serves."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from tests.api.helpers import PREFIX, template_of

IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _served(app: Flask) -> dict[str, set[str]]:
    """Path template -> methods, for every API rule except the document itself."""
    served: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{PREFIX}/") or rule.endpoint == "api.openapi":
            continue
        methods = {m.lower() for m in (rule.methods or set()) - IGNORED_METHODS}
        served.setdefault(template_of(rule.rule), set()).update(methods)
    return served


def _documented(doc: dict[str, Any]) -> dict[str, set[str]]:
    return {
        path: {m for m in item if m in HTTP_METHODS}
        for path, item in doc["paths"].items()
        if path != "/openapi.json"
    }


def test_document_is_public_and_valid_openapi(client: FlaskClient) -> None:
    response = client.get(f"{PREFIX}/openapi.json")  # no Authorization header
    assert response.status_code == 200
    doc = response.get_json()
    validate(doc)
    assert doc["openapi"].startswith("3.")
    assert doc["servers"] == [{"url": PREFIX}]


def test_every_route_is_documented_with_its_methods(app: Flask, openapi_doc: dict[str, Any]) -> None:
    served = _served(app)
    assert served, "no API routes found"
    assert _documented(openapi_doc) == served


def test_every_path_parameter_is_declared(openapi_doc: dict[str, Any]) -> None:
    for path, item in openapi_doc["paths"].items():
        in_template = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            assert declared == in_template, f"{method.upper()} {path}"


def test_every_operation_documents_auth_and_write_errors(openapi_doc: dict[str, Any]) -> None:
    for path, item in openapi_doc["paths"].items():
        if path == "/openapi.json":
            continue
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert "401" in codes, f"{method.upper()} {path}"
            if method != "get":
                assert "403" in codes, f"{method.upper()} {path}"
            if "requestBody" in operation:
                assert {"413", "422"} <= codes, f"{method.upper()} {path}"


def test_operation_ids_are_unique(openapi_doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in openapi_doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_every_schema_reference_resolves(openapi_doc: dict[str, Any]) -> None:
    refs = set(re.findall(r'"#/components/(\w+)/(\w+)"', str(openapi_doc).replace("'", '"')))
    assert refs
    for section, name in refs:
        assert name in openapi_doc["components"][section], f"{section}/{name}"
