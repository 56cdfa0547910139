"""API resource: contacts, addressed by their opaque public id."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.models.contacts import CONTACT_STATUSES
from sender.services.audience import contacts, directory
from sender.web.api import present as show
from sender.web.api.inputs import parse_body, parse_query
from sender.web.api.paging import decode_cursor, page_body
from sender.web.api.schemas.contacts import ContactInput, ContactPatch, ContactSearch
from sender.web.api.spec import TIMESTAMP, Component, fields_of, nullable, obj, page_of
from sender.web.session import get_session, runtime


def create_contact() -> ResponseReturnValue:
    """Create a contact; a suppressed or already known address is a 409 and nothing is stored."""
    data = parse_body(ContactInput).model_dump(exclude_unset=True)
    contact = contacts.create(get_session(), runtime().settings, data, g.actor)
    location = url_for("api.get_contact", public_id=contact.public_id)
    return jsonify(show.contact(contact)), 201, {"Location": location}


def list_contacts() -> ResponseReturnValue:
    """Contacts in a stable order, a page at a time; `email` or `phone` find one by exact address."""
    query = parse_query(ContactSearch)
    page = directory.contacts_page(
        get_session(),
        runtime().settings,
        after_id=decode_cursor(query.cursor),
        limit=query.limit,
        email=query.email,
        phone=query.phone,
    )
    return jsonify(page_body(page.items, page.has_more, attrgetter("id"), show.contact))


def get_contact(public_id: str) -> ResponseReturnValue:
    """One contact."""
    return jsonify(show.contact(contacts.get_by_public_id(get_session(), public_id)))


def update_contact(public_id: str) -> ResponseReturnValue:
    """Change some fields of a contact; new addresses are normalised and checked as on create."""
    data = parse_body(ContactPatch).model_dump(exclude_unset=True)
    session = get_session()
    contact = contacts.get_by_public_id(session, public_id)
    contacts.update(session, runtime().settings, contact, data, g.actor)
    return jsonify(show.contact(contact))


_STR = {"type": "string"}
_CONTACT: dict[str, Any] = {
    "id": {"type": "string", "description": "Opaque public id."},
    "status": {"type": "string", "enum": list(CONTACT_STATUSES)},
    **fields_of(ContactPatch),
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
CONTACT = Component(
    "Contact",
    obj(
        _CONTACT,
        list(_CONTACT),
        description="An erased contact keeps only its id, status and dates; personal fields are null.",
    ),
)
CONTACT_PAGE = Component("ContactPage", page_of(CONTACT))
