"""API test helpers: a client that checks every answer against the OpenAPI document, and builders."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import event

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def template_of(rule: str) -> str:
    """A Flask rule like /api/v1/lists/<int:list_id> as an OpenAPI path like /lists/{list_id}."""
    return _CONVERTER.sub(r"{\1}", rule).removeprefix(PREFIX)


def _strict(schema: Any) -> Any:
    """The schema with extra properties forbidden, so a response cannot carry undocumented fields."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


class Api:
    """A test client that asserts the status and validates the body against the documented response."""

    def __init__(self, app: Flask, client: FlaskClient, headers: dict[str, str], doc: dict[str, Any]) -> None:
        self.app = app
        self.client = client
        self.headers = headers
        self.doc = doc
        self.components = _strict(copy.deepcopy(doc["components"]))

    def call(
        self,
        method: str,
        path: str,
        status: int,
        *,
        json: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request, check its status, and validate the JSON body against the document."""
        response = self.client.open(
            PREFIX + path,
            method=method,
            json=json,
            query_string=query,
            headers=self.headers if headers is None else headers,
        )
        body = response.get_json()
        assert response.status_code == status, body
        self.check(method, path, status, body)
        return body

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        """Validate a body against the response the document gives for this operation and status."""
        adapter = self.app.url_map.bind("localhost")
        rule, _ = adapter.match(PREFIX + path.split("?")[0], method=method, return_rule=True)
        operation = self.doc["paths"][template_of(rule.rule)][method.lower()]
        assert str(status) in operation["responses"], f"{method} {path}: {status} is not documented"
        response = operation["responses"][str(status)]
        if "$ref" in response:
            response = self.doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        schema = response["content"]["application/json"]["schema"]
        Draft202012Validator({**_strict(schema), "components": self.components}).validate(body)

    def get(self, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, status, **kwargs)

    def post(self, path: str, json: Any, status: int = 201, **kwargs: Any) -> Any:
        return self.call("POST", path, status, json=json, **kwargs)

    def patch(self, path: str, json: Any, status: int = 200, **kwargs: Any) -> Any:
        return self.call("PATCH", path, status, json=json, **kwargs)

    def delete(self, path: str, json: Any, status: int = 200, **kwargs: Any) -> Any:
        return self.call("DELETE", path, status, json=json, **kwargs)


NEWSLETTER = {
    "slug": "newsletter",
    "name": "Monthly newsletter",
    "description": "News about our products, about once a month.",
    "legal_basis": "consent",
    "retention_days": 1095,
    "consent_validity_days": 730,
    "requires_double_opt_in": False,
    "data_categories": ["email address", "first name"],
    "processors": ["Mail relay SAS (FR)"],
    "transfers": [],
}
WORDING = {
    "text": "Yes, send me the monthly newsletter. I can unsubscribe at any time.",
    "privacy_notice_version": "2024-05",
}


def create_purpose(api: Api, **changes: Any) -> dict[str, Any]:
    """Create a purpose (the newsletter, unless changed) with wording version 1."""
    body = {**NEWSLETTER, **changes}
    created: dict[str, Any] = api.post("/purposes", body)
    api.post(f"/purposes/{body['slug']}/wordings", WORDING)
    return created


def create_contact(api: Api, **fields: Any) -> dict[str, Any]:
    """Create a contact through the API."""
    created: dict[str, Any] = api.post("/contacts", fields or {"email": "camille@example.org"})
    return created


def grant(api: Api, contact_id: str, purpose: str = "newsletter", **changes: Any) -> dict[str, Any]:
    """Record a checkbox grant for version 1 of the purpose's wording."""
    body = {
        "purpose": purpose,
        "channel": "email",
        "action": "grant",
        "source": "form",
        "mechanism": "checkbox",
        "wording_version": 1,
        "collection_point": "signup-form-footer",
        **changes,
    }
    event: dict[str, Any] = api.post(f"/contacts/{contact_id}/consents", body)
    return event


@contextmanager
def sql_statements(connection: Any) -> Iterator[list[str]]:
    """Record every SQL statement sent on the test connection."""
    seen: list[str] = []

    def _log(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", _log)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", _log)
