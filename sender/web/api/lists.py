"""API resource: contact lists and bulk membership (membership is not consent)."""

from __future__ import annotations

from operator import attrgetter

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.services.audience import directory, lists
from sender.web.api import present as show
from sender.web.api.inputs import parse_body, parse_query
from sender.web.api.paging import decode_cursor, page_body
from sender.web.api.schemas.lists import ListInput, MemberIds
from sender.web.api.schemas.paging import PageQuery
from sender.web.api.spec import TIMESTAMP, Component, obj
from sender.web.session import get_session, runtime


def create_list() -> ResponseReturnValue:
    """Create a list."""
    data = parse_body(ListInput).model_dump(exclude_unset=True)
    created = lists.create(get_session(), data, g.actor)
    location = url_for("api.get_list", list_id=created.id)
    return jsonify(show.contact_list(lists.ListSummary(created, 0))), 201, {"Location": location}


def list_lists() -> ResponseReturnValue:
    """Every list with its member count."""
    return jsonify({"items": [show.contact_list(s) for s in lists.summaries(get_session())]})


def get_list(list_id: int) -> ResponseReturnValue:
    """One list with its member count."""
    return jsonify(show.contact_list(lists.summary(get_session(), list_id)))


def _contact_ids() -> list[str]:
    return parse_body(MemberIds).contact_ids


def add_members(list_id: int) -> ResponseReturnValue:
    """Add up to 10,000 contacts at once; unknown ids fail the whole call and nothing is written."""
    change = lists.add_members(get_session(), list_id, _contact_ids(), g.actor)
    return jsonify(show.membership_change(change, "added", "already_members"))


def remove_members(list_id: int) -> ResponseReturnValue:
    """Remove up to 10,000 contacts at once; unknown ids fail the whole call and nothing is written."""
    change = lists.remove_members(get_session(), list_id, _contact_ids(), g.actor)
    return jsonify(show.membership_change(change, "removed", "not_members"))


def list_members(list_id: int) -> ResponseReturnValue:
    """The contacts of a list, a page at a time."""
    session = get_session()
    lists.get(session, list_id)
    query = parse_query(PageQuery)
    page = directory.contacts_page(
        session, runtime().settings, after_id=decode_cursor(query.cursor), limit=query.limit, list_id=list_id
    )
    return jsonify(page_body(page.items, page.has_more, attrgetter("id"), show.contact))


LIST = Component(
    "List",
    obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "member_count": {"type": "integer", "minimum": 0},
            "created_at": TIMESTAMP,
        },
        ["id", "name", "description", "member_count", "created_at"],
    ),
)
_REQUESTED = {"type": "integer", "description": "Distinct ids in the request."}
MEMBERS_ADDED = Component(
    "MembersAdded",
    obj(
        {"requested": _REQUESTED, "added": {"type": "integer"}, "already_members": {"type": "integer"}},
        ["requested", "added", "already_members"],
    ),
)
MEMBERS_REMOVED = Component(
    "MembersRemoved",
    obj(
        {"requested": _REQUESTED, "removed": {"type": "integer"}, "not_members": {"type": "integer"}},
        ["requested", "removed", "not_members"],
    ),
)
