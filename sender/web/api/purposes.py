"""API resource: purposes (the Art. 30 register) and their versioned consent wordings."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.services.consent import purposes
from sender.web.api import bp, parse_body, requires
from sender.web.api import present as show
from sender.web.api.openapi import (
    TIMESTAMP,
    WRITE_ERRORS,
    input_schemas,
    items_of,
    nullable,
    obj,
    operation,
    path_param,
    ref,
)
from sender.web.api.schemas.purposes import PurposeInput, WordingInput
from sender.web.session import get_session


@bp.post("/purposes")
@requires("purposes.manage")
def create_purpose() -> ResponseReturnValue:
    """Add a purpose to the register."""
    data = parse_body(PurposeInput).model_dump(exclude_unset=True)
    purpose = purposes.create(get_session(), data, g.actor)
    location = url_for("api.get_purpose", slug=purpose.slug)
    return jsonify(show.purpose(purpose)), 201, {"Location": location}


@bp.get("/purposes")
def list_purposes() -> ResponseReturnValue:
    """Every purpose of the register."""
    return jsonify({"items": [show.purpose(p) for p in purposes.all_purposes(get_session())]})


@bp.get("/purposes/<key:slug>")
def get_purpose(slug: str) -> ResponseReturnValue:
    """One purpose."""
    return jsonify(show.purpose(purposes.get(get_session(), slug)))


@bp.post("/purposes/<key:slug>/wordings")
@requires("purposes.manage")
def add_wording(slug: str) -> ResponseReturnValue:
    """Append a new wording version; versions are numbered by the server and never change."""
    data = parse_body(WordingInput).model_dump(exclude_unset=True)
    purpose, wording = purposes.add_wording(get_session(), slug, data, g.actor)
    return jsonify(show.wording(wording, purpose.slug)), 201


@bp.get("/purposes/<key:slug>/wordings")
def list_wordings(slug: str) -> ResponseReturnValue:
    """Every wording version of a purpose, oldest first."""
    session = get_session()
    purpose = purposes.get(session, slug)
    return jsonify({"items": [show.wording(w, purpose.slug) for w in purposes.wordings(session, purpose)]})


_OUTPUT_FIELDS: dict[str, Any] = {
    name: {k: v for k, v in prop.items() if k not in ("default", "title")}
    for name, prop in PurposeInput.model_json_schema()["properties"].items()
}
_SLUG = path_param("slug", "The purpose's slug.")

SCHEMAS: dict[str, Any] = {
    **input_schemas(PurposeInput, WordingInput),
    "Purpose": obj({**_OUTPUT_FIELDS, "created_at": TIMESTAMP}, [*_OUTPUT_FIELDS, "created_at"]),
    "Wording": obj(
        {
            "purpose": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "text": {"type": "string"},
            "privacy_notice_version": nullable({"type": "string"}),
            "created_at": TIMESTAMP,
        },
        ["purpose", "version", "text", "privacy_notice_version", "created_at"],
    ),
}


PATHS: dict[str, Any] = {
    "/purposes": {
        "post": operation(
            "createPurpose",
            "Add a purpose (an entry of the Art. 30 register)",
            tag="purposes",
            body=ref("PurposeInput"),
            ok=(201, "Created", ref("Purpose")),
            errors=(*WRITE_ERRORS, 409),
        ),
        "get": operation(
            "listPurposes", "List purposes", tag="purposes", ok=(200, "All purposes", items_of("Purpose"))
        ),
    },
    "/purposes/{slug}": {
        "get": operation(
            "getPurpose",
            "Get a purpose",
            tag="purposes",
            params=[_SLUG],
            ok=(200, "The purpose", ref("Purpose")),
            errors=(401, 404),
        ),
    },
    "/purposes/{slug}/wordings": {
        "post": operation(
            "addWording",
            "Add the next consent wording version",
            tag="purposes",
            params=[_SLUG],
            body=ref("WordingInput"),
            ok=(201, "Created; the server assigns version = latest + 1", ref("Wording")),
            errors=(*WRITE_ERRORS, 404),
        ),
        "get": operation(
            "listWordings",
            "List wording versions, oldest first",
            tag="purposes",
            params=[_SLUG],
            ok=(200, "All versions", items_of("Wording")),
            errors=(401, 404),
        ),
    },
}
