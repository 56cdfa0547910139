"""API resource: contacts, addressed by their opaque public id."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from flask import g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from sender.models.contacts import CONTACT_STATUSES
from sender.services.audience import contacts, directory
from sender.services.errors import ValidationFailed
from sender.web.api import bp, json_body
from sender.web.api import present as show
from sender.web.api.openapi import (
    PAGE_PARAMS,
    TIMESTAMP,
    WRITE_ERRORS,
    nullable,
    obj,
    operation,
    page_of,
    path_param,
    query_param,
    ref,
)
from sender.web.api.paging import page_args, page_body
from sender.web.session import get_session, runtime

CREATE_ONLY = ("source", "source_detail", "is_legacy")


def _create_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown fields and wrong types the contacts service does not look at."""
    errors = {name: "unknown field" for name in sorted(set(data) - {*contacts.EDITABLE, *CREATE_ONLY})}
    detail = data.get("source_detail")
    if detail is not None and (not isinstance(detail, str) or len(detail) > 255):
        errors["source_detail"] = "must be a string of at most 255 characters"
    if not isinstance(data.get("is_legacy", False), bool):
        errors["is_legacy"] = "must be true or false"
    if errors:
        raise ValidationFailed(errors)
    return data


@bp.post("/contacts")
def create_contact() -> ResponseReturnValue:
    """Create a contact; a suppressed or already known address is a 409 and nothing is stored."""
    session = get_session()
    contact = contacts.create(session, runtime().settings, _create_fields(json_body()), g.actor)
    session.commit()
    location = url_for("api.get_contact", public_id=contact.public_id)
    return jsonify(show.contact(contact)), 201, {"Location": location}


@bp.get("/contacts")
def list_contacts() -> ResponseReturnValue:
    """Contacts in a stable order, a page at a time; `email` or `phone` find one by exact address."""
    after, limit = page_args()
    page = directory.contacts_page(
        get_session(),
        runtime().settings,
        after_id=after,
        limit=limit,
        email=request.args.get("email"),
        phone=request.args.get("phone"),
    )
    return jsonify(page_body(page.items, page.has_more, attrgetter("id"), show.contact))


@bp.get("/contacts/<public_id>")
def get_contact(public_id: str) -> ResponseReturnValue:
    """One contact."""
    return jsonify(show.contact(contacts.get_by_public_id(get_session(), public_id)))


@bp.patch("/contacts/<public_id>")
def update_contact(public_id: str) -> ResponseReturnValue:
    """Change some fields of a contact; new addresses are normalised and checked as on create."""
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    contacts.update(session, runtime().settings, contact, json_body(), g.actor)
    session.commit()
    return jsonify(show.contact(contact))


_STR = {"type": "string"}
_EDITABLE: dict[str, Any] = {
    "email": nullable(
        {"type": "string", "format": "email", "description": "Normalised (lower case) on save."}
    ),
    "phone": nullable({"type": "string", "description": "E.164, or national in the default region."}),
    "first_name": nullable({"type": "string", "maxLength": 100}),
    "last_name": nullable({"type": "string", "maxLength": 100}),
    "locale": nullable({"type": "string", "maxLength": 16}),
    "country": nullable(
        {"type": "string", "minLength": 2, "maxLength": 2, "description": "ISO 3166 alpha-2"}
    ),
    "timezone": nullable({"type": "string", "maxLength": 64}),
    "attributes": {"type": "object"},
}
_CONTACT: dict[str, Any] = {
    "id": {"type": "string", "description": "Opaque public id."},
    "status": {"type": "string", "enum": list(CONTACT_STATUSES)},
    **_EDITABLE,
    "email": nullable(_STR),
    "phone": nullable(_STR),
    "source": _STR,
    "source_detail": nullable(_STR),
    "is_legacy": {"type": "boolean"},
    "last_interaction_at": nullable(TIMESTAMP),
    "created_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
    "erased_at": nullable(TIMESTAMP),
}
SCHEMAS: dict[str, Any] = {
    "Contact": obj(
        _CONTACT,
        list(_CONTACT),
        description="An erased contact keeps only its id, status and dates; personal fields are null.",
    ),
    "ContactInput": obj(
        {
            **_EDITABLE,
            "source": {"type": "string", "maxLength": 64, "default": "api"},
            "source_detail": {"type": "string", "maxLength": 255},
            "is_legacy": {"type": "boolean", "default": False},
        },
        description="An email or a phone number is required.",
        additionalProperties=False,
    ),
    "ContactPatch": obj(_EDITABLE, additionalProperties=False),
    "ContactPage": page_of("Contact"),
}
CONTACT_ID = path_param("public_id", "The contact's public id.")

PATHS: dict[str, Any] = {
    "/contacts": {
        "post": operation(
            "createContact",
            "Create a contact",
            tag="contacts",
            body=ref("ContactInput"),
            ok=(201, "Created", ref("Contact")),
            errors=(*WRITE_ERRORS, 409),
            description="409 when the address belongs to another contact or is on the suppression list; "
            "nothing is stored then.",
        ),
        "get": operation(
            "listContacts",
            "List or search contacts, in pages",
            tag="contacts",
            params=[
                *PAGE_PARAMS,
                query_param("email", "Exact match on the normalised email."),
                query_param("phone", "Exact match on the normalised (E.164) phone number."),
            ],
            ok=(200, "One page", ref("ContactPage")),
            errors=(401, 422),
        ),
    },
    "/contacts/{public_id}": {
        "get": operation(
            "getContact",
            "Get a contact",
            tag="contacts",
            params=[CONTACT_ID],
            ok=(200, "The contact", ref("Contact")),
            errors=(401, 404),
        ),
        "patch": operation(
            "updateContact",
            "Change fields of a contact",
            tag="contacts",
            params=[CONTACT_ID],
            body=ref("ContactPatch"),
            ok=(200, "The changed contact", ref("Contact")),
            errors=(*WRITE_ERRORS, 404, 409),
        ),
    },
}
