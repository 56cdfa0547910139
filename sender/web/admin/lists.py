"""Static lists (membership is not consent), beside the segments (saved filters evaluated at launch)."""

from __future__ import annotations

from flask import abort, flash, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

from sender.models import Contact, ListMember
from sender.models.contacts import CONTACT_STATUSES
from sender.services.audience import lists as list_service
from sender.services.audience import search, segments
from sender.services.errors import Conflict
from sender.web.admin.auth import actor, requires
from sender.web.admin.forms import Form, run_action
from sender.web.labels import say
from sender.web.session import get_session, runtime

MEMBERS_SHOWN = 100
PROBLEMS_SHOWN = 10


class ListForm(Form):
    """A new static list."""

    name = StringField(_l("Name"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional()])


@requires("view")
def lists_index() -> ResponseReturnValue:
    """Every list with its size, every segment with its current size."""
    db = get_session()
    return render_template(
        "admin/lists/index.html",
        lists=list_service.summaries(db),
        segments=[(s, segments.count(db, s)) for s in segments.all_segments(db)],
        form=ListForm(),
    )


@requires("lists.edit")
def list_create() -> ResponseReturnValue:
    """Create a static list."""
    form = ListForm()
    db = get_session()

    def page(status: int) -> ResponseReturnValue:
        return render_template(
            "admin/lists/index.html",
            lists=list_service.summaries(db),
            segments=[(s, segments.count(db, s)) for s in segments.all_segments(db)],
            form=form,
        ), status

    if not form.validate():
        return page(422)
    return run_action(
        lambda: list_service.create(
            db, {"name": form.name.data or "", "description": form.description.data or ""}, actor()
        ),
        success=_("List created."),
        redirect_to=lambda created: url_for("admin.list_detail", list_id=created.id),
        refused=page,
        form=form,
        fields={Conflict: "name"},
        status=422,
    )


@requires("view")
def list_detail(list_id: int) -> ResponseReturnValue:
    """A list's size and its latest members."""
    db = get_session()
    summary = list_service.summary(db, list_id)
    members = db.scalars(
        select(Contact)
        .join(ListMember, ListMember.contact_id == Contact.id)
        .where(ListMember.list_id == list_id)
        .order_by(Contact.id.desc())
        .limit(MEMBERS_SHOWN)
    ).all()
    return render_template(
        "admin/lists/detail.html",
        summary=summary,
        members=members,
        shown=MEMBERS_SHOWN,
        segments=segments.all_segments(db),
    )


@requires("lists.edit")
def list_members(list_id: int) -> ResponseReturnValue:
    """Add contacts by email address or phone number (one per line), or remove one contact."""
    db = get_session()

    def change() -> None:
        if request.form.get("remove"):
            list_service.remove_members(db, list_id, [request.form["remove"]], actor())
            flash(_("Removed from the list."), "success")
            return
        result = list_service.add_by_addresses(
            db, runtime().settings, list_id, request.form.get("emails", ""), actor()
        )
        if result.requested or not result.problems:
            flash(_("%(n)d added.", n=result.changed), "success")
        # A few lines' reasons, then a count: the flashed messages travel in the session cookie.
        for _line, reason in result.problems[:PROBLEMS_SHOWN]:
            flash(say(reason), "error")
        if len(result.problems) > PROBLEMS_SHOWN:
            more = len(result.problems) - PROBLEMS_SHOWN
            flash(_("%(n)d more lines not added.", n=more), "error")

    return run_action(change, success=None, redirect_to=url_for("admin.list_detail", list_id=list_id))


@requires("lists.edit")
def list_add_from() -> ResponseReturnValue:
    """Add every contact a search or a segment finds to a list, in one statement."""
    db = get_session()
    list_id = request.form.get("list_id", type=int)
    segment_id = request.form.get("segment", type=int)
    query = request.form.get("q", "").strip()
    kind = request.form.get("kind", "auto")
    status = request.form.get("status") or None
    if list_id is None or kind not in search.KINDS or (status and status not in CONTACT_STATUSES):
        abort(400)
    if segment_id is not None:
        origin = f"segment {segment_id}"
        selection = segments.members(db, [segments.get(db, segment_id).id])
    elif query:
        origin = "search"
        selection = search.matching(runtime().settings, query, kind=kind, status=status)
    else:
        abort(400)
    return run_action(
        lambda: list_service.add_selection(db, list_id, selection, origin, actor()),
        success=lambda change: _("%(found)d found, %(n)d added.", found=change.requested, n=change.changed),
        redirect_to=url_for("admin.list_detail", list_id=list_id),
        refused=url_for("admin.lists"),
    )
