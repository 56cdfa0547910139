"""Fuzz every operation of the OpenAPI document: documented and hostile input never gets a 5xx.

For each operation, hypothesis draws path parameters, query strings and bodies from the document's own
schemas (hypothesis-jsonschema), mixed with hostile values: huge integers, booleans where numbers are
expected, lone surrogates, NUL bytes, deep nesting and arbitrary JSON under the documented field names.
The number of examples is bounded so the whole file runs in well under a minute in the normal pytest run.
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.api.helpers import PREFIX, Api
from tests.fuzz_values import HOSTILE_INT, HOSTILE_TEXT, JSON_VALUES, bounded

EXAMPLES_PER_OPERATION = 25


def _inline(schema: Any, components: dict[str, Any]) -> Any:
    """The schema with every #/components reference replaced by its target (the document has no cycles)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            section, name = schema["$ref"].split("/")[-2:]
            return _inline(components[section][name], components)
        return {key: _inline(value, components) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(item, components) for item in schema]
    return schema


def _valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a schema allows; objects are built here (hypothesis-jsonschema's object strategy is not used)."""
    if "anyOf" in schema:
        return st.one_of([_valid(option) for option in schema["anyOf"]])
    if schema.get("type") == "object":
        properties = schema.get("properties", {})
        if not properties:
            return st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3)
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: _valid(prop) for name, prop in properties.items() if name in required},
            optional={name: _valid(prop) for name, prop in properties.items() if name not in required},
        )
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        # Lists of objects (a sequence's steps) are built from the same object strategy.
        return st.lists(
            _valid(schema["items"]),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 5), 5),
        )
    return from_schema(schema)


def _valid_or_hostile(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values the schema allows, or hostile ones of any type."""
    return st.one_of(_valid(schema), HOSTILE_TEXT, HOSTILE_INT, JSON_VALUES)


def _bodies(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Documented bodies, and objects whose documented fields hold valid or hostile values."""
    fields = {name: _valid_or_hostile(prop) for name, prop in schema.get("properties", {}).items()}
    mixed = st.fixed_dictionaries({}, optional=fields) if fields else st.just({})
    return st.one_of(_valid(schema), mixed, JSON_VALUES)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _request(operation: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    params = operation.get("parameters", [])
    path = {
        p["name"]: st.one_of(from_schema(p["schema"]), HOSTILE_TEXT, HOSTILE_INT)
        for p in params
        if p["in"] == "path"
    }
    query = {p["name"]: _valid_or_hostile(p["schema"]) for p in params if p["in"] == "query"}
    body: st.SearchStrategy[Any] = st.none()
    form: st.SearchStrategy[Any] = st.none()
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = _bodies(_inline(content["application/json"]["schema"], components))
    elif "multipart/form-data" in content:
        # Uploads: every documented form field, valid or hostile text, and a file of random bytes.
        fields = _inline(content["multipart/form-data"]["schema"], components).get("properties", {})
        form = st.fixed_dictionaries(
            {},
            optional={
                name: st.binary(max_size=2000)
                if prop.get("format") == "binary"
                else st.one_of(from_schema(prop), HOSTILE_TEXT)
                for name, prop in fields.items()
            },
        )
    return st.fixed_dictionaries(
        {
            "path": st.fixed_dictionaries(path),
            "query": st.fixed_dictionaries({}, optional=query),
            "body": body,
            "form": form,
        }
    )


def _url(template: str, values: dict[str, Any]) -> str:
    for name, value in values.items():
        text = _text(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        template = template.replace("{" + name + "}", quote(text, safe="") or "x")
    return PREFIX + template


def _safe_text(value: Any) -> str:
    return _text(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _send(
    client: FlaskClient,
    headers: dict[str, str],
    method: str,
    template: str,
    request: dict[str, Any],
    responses: dict[str, Any],
) -> None:
    url = _url(template, request["path"])
    query = {
        key: _text(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        for key, value in request["query"].items()
    }
    body, form = request["body"], request["form"]
    # ensure_ascii keeps lone surrogates as \\ud800 escapes, as a hostile client would send them.
    data: Any = None if body is None else json.dumps(body, ensure_ascii=True)
    content_type = "application/json" if data is not None else None
    if form is not None:
        data = {
            name: (io.BytesIO(value), "upload.csv") if isinstance(value, bytes) else _safe_text(value)
            for name, value in form.items()
        }
        content_type = "multipart/form-data"
    response = client.open(
        url, method=method, query_string=query, data=data, content_type=content_type, headers=headers
    )
    assert response.status_code < 500, (method, url, query, body, response.get_data(as_text=True)[:500])
    # An answer is JSON, unless the operation documents another media type for it (an export's CSV).
    documented = responses.get(str(response.status_code), {}).get("content", {})
    assert response.is_json or response.mimetype in documented, (method, url, response.status_code)


def _fuzz(
    client: FlaskClient,
    headers: dict[str, str],
    method: str,
    template: str,
    strategy: st.SearchStrategy[dict[str, Any]],
    responses: dict[str, Any],
) -> None:
    """Run one operation's examples."""

    @bounded(EXAMPLES_PER_OPERATION)
    @given(request=strategy)
    def check(request: dict[str, Any]) -> None:
        _send(client, headers, method, template, request, responses)

    check()


def test_no_operation_answers_5xx(client: FlaskClient, api: Api, openapi_doc: dict[str, Any]) -> None:
    components = copy.deepcopy(openapi_doc["components"])
    operations = [
        (method.upper(), path, operation)
        for path, item in openapi_doc["paths"].items()
        for method, operation in item.items()
        if path != "/openapi.json"
    ]
    assert len(operations) >= 25
    for method, template, operation in operations:
        strategy = _request(operation, components)
        _fuzz(client, api.headers, method, template, strategy, operation["responses"])
