"""API resource: purposes (the Art. 30 register) and their versioned consent wordings."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.models.consent import LEGAL_BASES
from sender.services.consent import purposes
from sender.web.api import bp, json_body
from sender.web.api import present as show
from sender.web.api.openapi import (
    TIMESTAMP,
    WRITE_ERRORS,
    items_of,
    nullable,
    obj,
    operation,
    path_param,
    ref,
)
from sender.web.session import get_session


@bp.post("/purposes")
def create_purpose() -> ResponseReturnValue:
    """Add a purpose to the register."""
    session = get_session()
    purpose = purposes.create(session, json_body(), g.actor)
    session.commit()
    location = url_for("api.get_purpose", slug=purpose.slug)
    return jsonify(show.purpose(purpose)), 201, {"Location": location}


@bp.get("/purposes")
def list_purposes() -> ResponseReturnValue:
    """Every purpose of the register."""
    return jsonify({"items": [show.purpose(p) for p in purposes.all_purposes(get_session())]})


@bp.get("/purposes/<slug>")
def get_purpose(slug: str) -> ResponseReturnValue:
    """One purpose."""
    return jsonify(show.purpose(purposes.get(get_session(), slug)))


@bp.post("/purposes/<slug>/wordings")
def add_wording(slug: str) -> ResponseReturnValue:
    """Append a new wording version; versions are numbered by the server and never change."""
    session = get_session()
    purpose, wording = purposes.add_wording(session, slug, json_body(), g.actor)
    session.commit()
    return jsonify(show.wording(wording, purpose.slug)), 201


@bp.get("/purposes/<slug>/wordings")
def list_wordings(slug: str) -> ResponseReturnValue:
    """Every wording version of a purpose, oldest first."""
    session = get_session()
    purpose = purposes.get(session, slug)
    return jsonify({"items": [show.wording(w, purpose.slug) for w in purposes.wordings(session, purpose)]})


_STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 200}}
_DAYS = {"type": "integer", "minimum": 1, "maximum": 36500}
_PURPOSE_FIELDS: dict[str, Any] = {
    "slug": {"type": "string", "pattern": purposes.SLUG.pattern, "maxLength": 64},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": {
        "type": "string",
        "minLength": 1,
        "description": "Shown to people when asked to consent.",
    },
    "legal_basis": {"type": "string", "enum": list(LEGAL_BASES), "default": "consent"},
    "retention_days": {**_DAYS, "default": 1095},
    "consent_validity_days": {
        **nullable(_DAYS),
        "default": 1095,
        "description": "How long a grant stays valid; null: until withdrawn.",
    },
    "requires_double_opt_in": {
        "type": "boolean",
        "default": False,
        "description": "A grant only counts once confirmed with mechanism double_opt_in.",
    },
    "data_categories": _STRINGS,
    "processors": _STRINGS,
    "transfers": {**_STRINGS, "description": "Transfers outside the EEA and their safeguards."},
}
_SLUG = path_param("slug", "The purpose's slug.")

SCHEMAS: dict[str, Any] = {
    "PurposeInput": obj(_PURPOSE_FIELDS, ["slug", "name", "description"], additionalProperties=False),
    "Purpose": obj({**_PURPOSE_FIELDS, "created_at": TIMESTAMP}, [*_PURPOSE_FIELDS, "created_at"]),
    "WordingInput": obj(
        {
            "text": {"type": "string", "minLength": 1, "description": "The exact text shown to people."},
            "privacy_notice_version": {"type": "string", "minLength": 1, "maxLength": 64},
        },
        ["text"],
        additionalProperties=False,
    ),
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
