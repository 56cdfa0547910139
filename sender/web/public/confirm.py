"""Confirmation links sent to the person's own address: an erasure (/erase/) and a new address (/address/).

GET shows a button and changes nothing (mail scanners fetch links); the POST spends the one-use token with the
action, in the request's unit of work. Every bad, expired or spent link gets the portal's one refusal page.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from sender.models import AddressChange, Contact
from sender.services.consent.withdrawal import actor as contact_actor
from sender.services.errors import ValidationFailed
from sender.services.rights import erasure_request, rectification
from sender.services.rights.links import LinkRefused, peek, spend
from sender.web.labels import said
from sender.web.public import bp
from sender.web.public.common import page, speak_to
from sender.web.session import discard, get_session, runtime

OPEN_STATUSES = ("active", "restricted")


@bp.get("/erase/<token>")
def erase_confirm_page(token: str) -> ResponseReturnValue:
    """The button that confirms an erasure asked in the portal."""
    rt = runtime()
    contact, _ = peek(get_session(), rt.tokens, rt.settings, "erase", token, OPEN_STATUSES)
    speak_to(contact)
    return page("public/erase_confirm.html")


@bp.post("/erase/<token>")
def erase_confirm(token: str) -> ResponseReturnValue:
    """Spend the link and erase; the notice of erasure leaves once this is committed."""
    session, rt = get_session(), runtime()
    contact, _ = spend(session, rt.tokens, rt.settings, "erase", token, OPEN_STATUSES)
    speak_to(contact)
    erased = erasure_request.confirm(session, rt.settings, contact, contact_actor(contact), rt.redis)
    return page("public/erased.html", emailed=erased.confirmation == "sent after commit")


def _address_change(token: str) -> tuple[Contact, AddressChange]:
    rt, session = runtime(), get_session()
    contact, link = peek(session, rt.tokens, rt.settings, "address", token, OPEN_STATUSES)
    change = rectification.pending_change(session, contact, link.jti)
    if change is None:  # replaced by a newer correction, or already confirmed
        raise LinkRefused()
    return contact, change


@bp.get("/address/<token>")
def address_confirm_page(token: str) -> ResponseReturnValue:
    """The button that confirms a new address (it shows no address: the link may have been forwarded)."""
    contact, _ = _address_change(token)
    speak_to(contact)
    return page("public/address_confirm.html")


@bp.post("/address/<token>")
def address_confirm(token: str) -> ResponseReturnValue:
    """Spend the link: the contact uses the new address from now on."""
    session, rt = get_session(), runtime()
    contact, change = _address_change(token)
    spend(session, rt.tokens, rt.settings, "address", token, OPEN_STATUSES)
    speak_to(contact)
    try:
        rectification.confirm_address(session, rt.settings, contact, change, contact_actor(contact))
    except ValidationFailed as exc:
        discard()
        return page("public/address_confirm.html", 409, errors=said(exc.errors))
    return page("public/address_confirmed.html")
