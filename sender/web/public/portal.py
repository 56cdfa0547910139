"""The privacy portal: opened by an expiring link, every action spends a single-use token (R37).

GET /p/<token> shows only a button (no data: mail scanners fetch links). Each page then carries one fresh
token per form, posted in the body to /portal, never in a URL. Every bad, expired, spent or wrong-kind
token gets the same page, which offers a new link. The token is spent in the request's unit of work, with
the action it authorises: both commit together, or neither does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue

from sender import work
from sender.models import Contact
from sender.services.consent import preferences
from sender.services.consent.links import portal_token
from sender.services.consent.withdrawal import stop_all
from sender.services.errors import Conflict, ValidationFailed
from sender.services.input import refuse_unstorable
from sender.services.rights import access, erasure, export, rectification, requests, restriction
from sender.services.rights.links import LinkRefused, peek, spend
from sender.web.bounds import record_id
from sender.web.public import bp
from sender.web.public.common import evidence, page, speak_to
from sender.web.session import discard, get_session, runtime
from sender.work.jobs import SendSignupConfirmation

REFUSED_STATUS = 410
OPEN_STATUSES = ("active", "restricted")
CHANGES = (
    "open",
    "withdraw",
    "grant",
    "stop_all",
    "lift_objection",
    "rectify",
    "restrict",
    "lift_restriction",
)


@bp.errorhandler(LinkRefused)
def _refused(_exc: LinkRefused) -> ResponseReturnValue:
    # One page for every bad token, with a form asking for a new link (R37, R38).
    return page("public/link_expired.html", REFUSED_STATUS)


def _actor(contact: Contact) -> str:
    return f"contact:{contact.public_id}"


def _minter(contact: Contact) -> Callable[[], str]:
    tokens = runtime().tokens
    return lambda: portal_token(tokens, contact.public_id)


def _portal(contact: Contact, status: int = 200, **context: Any) -> ResponseReturnValue:
    session = get_session()
    return page(
        "public/portal.html",
        status,
        contact=contact,
        data=access.personal_data(contact),
        rows=preferences.rows(session, contact),
        objected=preferences.objected(session, contact),
        token=_minter(contact),
        **context,
    )


@bp.get("/p/<token>")
def portal_open(token: str) -> ResponseReturnValue:
    """The landing page of a portal link: one button, nothing personal, nothing spent."""
    rt = runtime()
    contact, _ = peek(get_session(), rt.tokens, rt.settings, "portal", token, OPEN_STATUSES)
    speak_to(contact)
    return page("public/portal_open.html", token=token)


def _int(name: str) -> int | None:
    # A number no record can have (too large for the column) names nothing, like a missing one.
    return record_id(request.form.get(name, type=int))


def _change(contact: Contact, action: str) -> str | None:
    """Apply one change of the preference centre or of the rights section; returns what to announce."""
    session, rt = get_session(), runtime()
    if action == "withdraw":
        preferences.withdraw_one(session, contact, _int("purpose"), request.form.get("channel"), evidence())
    elif action == "grant":
        event = preferences.grant(
            session,
            contact,
            _int("purpose"),
            request.form.get("channel"),
            _int("wording_version"),
            evidence(),
        )
        if event.action == "request" and event.channel == "email" and event.wording_id is not None:
            work.enqueue(
                session, SendSignupConfirmation(contact_id=contact.id, wording_ids=(event.wording_id,))
            )
            return "grant_pending"
    elif action == "stop_all":
        stop_all(session, contact, source="portal", evidence=evidence())
    elif action == "lift_objection":
        preferences.lift_objection(session, contact)
    elif action == "rectify":
        fields = {k: request.form[k] for k in rectification.FIELDS if k in request.form}
        changed = rectification.rectify(session, rt.settings, contact, fields, _actor(contact))
        requests.record_completed(
            session,
            contact,
            "rectification",
            f"corrected: {', '.join(changed) or 'nothing'}",
            _actor(contact),
        )
        speak_to(contact)
    elif action == "restrict":
        restriction.restrict(session, contact, _actor(contact))
        requests.record_completed(session, contact, "restriction", "processing restricted", _actor(contact))
    elif action == "lift_restriction":
        restriction.lift(session, rt.settings, contact, _actor(contact))
    return None if action == "open" else action


def _download(body: str, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/portal")
def portal_act() -> ResponseReturnValue:
    """Spend the posted token on one action, then show the result with fresh tokens."""
    session, rt = get_session(), runtime()
    contact, _ = spend(
        session, rt.tokens, rt.settings, "portal", request.form.get("token", ""), OPEN_STATUSES
    )
    speak_to(contact)
    action = request.form.get("action", "")
    actor = _actor(contact)
    try:
        # Every posted field, whichever action reads it: text the database could not store is refused.
        refuse_unstorable(request.form.to_dict(flat=False))
        if action in CHANGES:
            done = _change(contact, action)
            return _portal(contact, done=done)
        if action == "report":
            requests.record_completed(session, contact, "access", "report shown in the portal", actor)
            report = access.report(session, rt.settings, contact)
            return page("public/report.html", report=report, token=_minter(contact))
        if action in ("export_json", "export_csv"):
            requests.record_completed(
                session, contact, "portability", f"{action[7:]} export downloaded", actor
            )
            if action == "export_json":
                body = json.dumps(export.as_json(session, contact), ensure_ascii=False, indent=2)
                result = _download(body, "application/json", "my-data.json")
            else:
                result = _download(export.as_csv(session, contact), "text/csv", "my-data.csv")
            return result
        if action == "erase":
            if request.form.get("confirm") != "yes":
                raise ValidationFailed({"confirm": "tick the box to confirm the erasure"})
            requests.record_completed(session, contact, "erasure", "erased from the portal", actor)
            # The confirmation is sent once the erasure is committed, to the address it held.
            erasure.erase(session, rt.settings, contact, actor=actor, redis=rt.redis)
            return page("public/erased.html")
        raise ValidationFailed({"action": "choose an action"})
    except (ValidationFailed, Conflict) as exc:
        # The token is given back with the rollback: nothing happened, so nothing was spent.
        discard()
        errors = exc.errors if isinstance(exc, ValidationFailed) else {"request": exc.message}
        status = 400 if isinstance(exc, ValidationFailed) else 409
        return _portal(contact, status, errors=errors)
