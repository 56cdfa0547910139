"""API resource: contact lists and bulk membership (membership is not consent)."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from flask import g, jsonify, url_for
from flask.typing import ResponseReturnValue

from sender.services.audience import directory, lists
from sender.web.api import bp, parse_body, parse_query, requires
from sender.web.api import present as show
from sender.web.api.openapi import (
    ID,
    PAGE_PARAMS,
    TIMESTAMP,
    WRITE_ERRORS,
    input_schemas,
    items_of,
    obj,
    operation,
    path_param,
    ref,
)
from sender.web.api.paging import decode_cursor, page_body
from sender.web.api.schemas.lists import ListInput, MemberIds
from sender.web.api.schemas.paging import PageQuery
from sender.web.session import get_session, runtime


@bp.post("/lists")
@requires("lists.manage")
def create_list() -> ResponseReturnValue:
    """Create a list."""
    data = parse_body(ListInput).model_dump(exclude_unset=True)
    created = lists.create(get_session(), data, g.actor)
    location = url_for("api.get_list", list_id=created.id)
    return jsonify(show.contact_list(lists.ListSummary(created, 0))), 201, {"Location": location}


@bp.get("/lists")
def list_lists() -> ResponseReturnValue:
    """Every list with its member count."""
    return jsonify({"items": [show.contact_list(s) for s in lists.summaries(get_session())]})


@bp.get("/lists/<id:list_id>")
def get_list(list_id: int) -> ResponseReturnValue:
    """One list with its member count."""
    return jsonify(show.contact_list(lists.summary(get_session(), list_id)))


def _contact_ids() -> list[str]:
    return parse_body(MemberIds).contact_ids


@bp.post("/lists/<id:list_id>/members")
@requires("lists.manage")
def add_members(list_id: int) -> ResponseReturnValue:
    """Add up to 10,000 contacts at once; unknown ids fail the whole call and nothing is written."""
    change = lists.add_members(get_session(), list_id, _contact_ids(), g.actor)
    return jsonify(show.membership_change(change, "added", "already_members"))


@bp.delete("/lists/<id:list_id>/members")
@requires("lists.manage")
def remove_members(list_id: int) -> ResponseReturnValue:
    """Remove up to 10,000 contacts at once; unknown ids fail the whole call and nothing is written."""
    change = lists.remove_members(get_session(), list_id, _contact_ids(), g.actor)
    return jsonify(show.membership_change(change, "removed", "not_members"))


@bp.get("/lists/<id:list_id>/members")
def list_members(list_id: int) -> ResponseReturnValue:
    """The contacts of a list, a page at a time."""
    session = get_session()
    lists.get(session, list_id)
    query = parse_query(PageQuery)
    page = directory.contacts_page(
        session, runtime().settings, after_id=decode_cursor(query.cursor), limit=query.limit, list_id=list_id
    )
    return jsonify(page_body(page.items, page.has_more, attrgetter("id"), show.contact))


SCHEMAS: dict[str, Any] = {
    **input_schemas(ListInput, MemberIds),
    "List": obj(
        {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "member_count": {"type": "integer", "minimum": 0},
            "created_at": TIMESTAMP,
        },
        ["id", "name", "description", "member_count", "created_at"],
    ),
    "MembersAdded": obj(
        {
            "requested": {"type": "integer", "description": "Distinct ids in the request."},
            "added": {"type": "integer"},
            "already_members": {"type": "integer"},
        },
        ["requested", "added", "already_members"],
    ),
    "MembersRemoved": obj(
        {
            "requested": {"type": "integer", "description": "Distinct ids in the request."},
            "removed": {"type": "integer"},
            "not_members": {"type": "integer"},
        },
        ["requested", "removed", "not_members"],
    ),
}
LIST_ID = path_param("list_id", "The list's id.", ID)
_BULK = "Up to 10,000 ids per call. Unknown ids give 422 naming some of them, and nothing is written."

PATHS: dict[str, Any] = {
    "/lists": {
        "post": operation(
            "createList",
            "Create a list",
            tag="lists",
            body=ref("ListInput"),
            ok=(201, "Created", ref("List")),
            errors=(*WRITE_ERRORS, 409),
        ),
        "get": operation(
            "listLists", "List lists with member counts", tag="lists", ok=(200, "All lists", items_of("List"))
        ),
    },
    "/lists/{list_id}": {
        "get": operation(
            "getList",
            "Get a list",
            tag="lists",
            params=[LIST_ID],
            ok=(200, "The list", ref("List")),
            errors=(401, 404),
        ),
    },
    "/lists/{list_id}/members": {
        "post": operation(
            "addMembers",
            "Add contacts to a list",
            tag="lists",
            params=[LIST_ID],
            body=ref("MemberIds"),
            ok=(200, "Counts; existing members are left as they are", ref("MembersAdded")),
            errors=(*WRITE_ERRORS, 404),
            description=_BULK,
        ),
        "delete": operation(
            "removeMembers",
            "Remove contacts from a list",
            tag="lists",
            params=[LIST_ID],
            body=ref("MemberIds"),
            ok=(200, "Counts", ref("MembersRemoved")),
            errors=(*WRITE_ERRORS, 404),
            description=_BULK,
        ),
        "get": operation(
            "listMembers",
            "List the members of a list, in pages",
            tag="lists",
            params=[LIST_ID, *PAGE_PARAMS],
            ok=(200, "One page", ref("ContactPage")),
            errors=(401, 404, 422),
        ),
    },
}
