"""The privacy portal: opened by an expiring link, every action spends a single-use token (R37).

GET /p/<token> shows only a button (no data: mail scanners fetch links). A message footer's link opens the
portal as often as needed within its lifetime; the link mailed in answer to the access form opens it once.
Each page then carries one fresh token per form, posted in the body to /portal, never in a URL. Every bad,
expired, spent or wrong-kind token gets the same page, which offers to mail a fresh link to the address of
the person the link was made for (the same answer whoever that is). The token is spent in the request's
unit of work, with the action it authorises: both commit together, or neither does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue

from sender import work
from sender.models import Contact
from sender.services.consent import portal_grants, preferences
from sender.services.consent.links import portal_token
from sender.services.consent.withdrawal import actor as contact_actor
from sender.services.consent.withdrawal import stop_all
from sender.services.errors import Conflict, NotConfigured, ValidationFailed
from sender.services.input import refuse_unstorable
from sender.services.rights import (
    access,
    erasure_request,
    export,
    rectification,
    requests,
    restriction,
)
from sender.services.rights.links import LinkRefused, peek, renewal_contact, spend
from sender.web.bounds import record_id
from sender.web.labels import said, say
from sender.web.public import bp
from sender.web.public.common import evidence, may_send_to, page, speak_to
from sender.web.session import discard, get_session, runtime
from sender.work.jobs import (
    SendAddressConfirmation,
    SendErasureConfirmation,
    SendPortalLink,
)

REFUSED_STATUS = 410
# A token echoed in the expired page's renewal form; anything longer is no token of ours.
MAX_TOKEN = 1000
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


def _given_token() -> str:
    token = (request.view_args or {}).get("token") or request.form.get("token", "")
    return token if isinstance(token, str) and len(token) <= MAX_TOKEN else ""


@bp.errorhandler(LinkRefused)
def _refused(_exc: LinkRefused) -> ResponseReturnValue:
    # One page for every bad token, offering a fresh link (R37, R38); only the token given is echoed.
    return page("public/link_expired.html", REFUSED_STATUS, token=_given_token())


@bp.post("/portal/renew")
def portal_renew() -> ResponseReturnValue:
    """Mail a fresh portal link to the person an expired or spent link was made for; one answer for all."""
    session = get_session()
    contact = renewal_contact(session, runtime().tokens, request.form.get("token", ""))
    # The page does not speak the person's language: that alone would tell a known link from a forged one.
    if (
        contact is not None
        and contact.status in OPEN_STATUSES
        and contact.email
        and may_send_to(contact.email)
    ):
        work.enqueue(session, SendPortalLink(contact_id=contact.id))
    return page("public/access_sent.html")


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
        confirming = portal_grants.grant(
            session,
            rt.settings,
            contact,
            _int("purpose"),
            request.form.get("channel"),
            _int("wording_version"),
            evidence(),
        )
        if confirming is not None:
            return "grant_pending" if confirming == "email" else "grant_pending_elsewhere"
    elif action == "stop_all":
        stop_all(session, contact, source="portal", evidence=evidence())
    elif action == "lift_objection":
        preferences.lift_objection(session, contact)
    elif action == "rectify":
        fields = {k: request.form[k] for k in rectification.FIELDS if k in request.form}
        result = rectification.from_portal(session, rt.settings, contact, fields, contact_actor(contact))
        for change in result.pending:
            # Counted like any system message to an address, so the form cannot flood someone else's.
            if may_send_to(change.value):
                work.enqueue(session, SendAddressConfirmation(change_id=change.id))
        speak_to(contact)
        if result.pending:
            return "rectify_pending"
    elif action == "restrict":
        restriction.from_portal(session, contact, contact_actor(contact))
    elif action == "lift_restriction":
        restriction.lift(session, rt.settings, contact, contact_actor(contact))
    return None if action == "open" else action


def _download(body: str, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/portal")
def portal_act() -> ResponseReturnValue:
    """Spend the posted token on one action, then show the result with fresh tokens."""
    session, rt = get_session(), runtime()
    action = request.form.get("action", "")
    contact, _ = spend(
        session, rt.tokens, rt.settings, "portal", request.form.get("token", ""), OPEN_STATUSES,
        opening=action == "open",
    )  # fmt: skip
    speak_to(contact)
    actor = contact_actor(contact)
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
            # Nothing is erased yet: the person confirms from their own address (or the DPO answers).
            channel = erasure_request.ask(session, rt.settings, contact, actor)
            # Counted like any system message, so repeated clicks cannot flood the person's address.
            if channel is not None and may_send_to(str(channel.address.of(contact))):
                work.enqueue(session, SendErasureConfirmation(contact_id=contact.id))
            return page("public/erase_asked.html", channel=channel.name if channel is not None else None)
        raise ValidationFailed({"action": "choose an action"})
    except NotConfigured:
        raise  # the blueprint's page says the organisation's settings are unfinished
    except (ValidationFailed, Conflict) as exc:
        # The token is given back with the rollback: nothing happened, so nothing was spent.
        discard()
        errors = said(exc.errors) if isinstance(exc, ValidationFailed) else {"request": say(exc.message)}
        status = 400 if isinstance(exc, ValidationFailed) else 409
        return _portal(contact, status, errors=errors)
