"""Unsubscribe links (/u/<token>): a confirmation page on GET, RFC 8058 one-click and buttons on POST.

Unsubscribe links never expire (R31) and need no cookie or CSRF token (RFC 8058). Every bad link gets the
same page. An unsubscribe link does only what it says: its pages never carry a portal link (an old message
must not open someone's data); they point to the access form, which mails a link to the person's address.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from sender.services.consent import withdrawal
from sender.services.consent.withdrawal import LinkInvalid, UnsubscribeTarget
from sender.web.public import bp
from sender.web.public.common import evidence, page, speak_to
from sender.web.session import get_session, runtime

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
INVALID_STATUS = 404


@bp.errorhandler(LinkInvalid)
def _invalid_link(_exc: LinkInvalid) -> ResponseReturnValue:
    # Same bytes whatever was wrong, so the page cannot tell anyone whether an address is on file.
    return page("public/invalid_link.html", INVALID_STATUS)


def _is_one_click() -> bool:
    if request.form.get("List-Unsubscribe") == "One-Click":
        return True
    # A client that forgets the Content-Type still sends the RFC 8058 body.
    return not request.form and request.get_data(as_text=True).strip() == ONE_CLICK_BODY


def _target(token: str) -> UnsubscribeTarget:
    target = withdrawal.resolve_unsubscribe(get_session(), runtime().tokens, token)
    speak_to(target.contact)
    return target


@bp.get("/u/<token>")
def unsubscribe_confirm(token: str) -> ResponseReturnValue:
    """Confirmation page naming the purpose; its buttons POST back here."""
    target = _target(token)
    return page(
        "public/unsubscribe.html",
        purpose=target.purpose,
        channel=target.channel,
    )


@bp.post("/u/<token>")
def unsubscribe_post(token: str) -> ResponseReturnValue:
    """One-click (RFC 8058) or a button of the confirmation page; answers 200, never a redirect."""
    session = get_session()
    target = _target(token)
    if _is_one_click():
        withdrawal.one_click(session, target, evidence())
        done = "one_click"
    elif request.form.get("action") == "stop_all":
        withdrawal.stop_all(session, target.contact, source="unsubscribe_page", evidence=evidence())
        done = "stop_all"
    else:
        withdrawal.page_unsubscribe(session, target, evidence())
        done = "unsubscribe"
    return page(
        "public/unsubscribed.html",
        done=done,
        purpose=target.purpose,
        channel=target.channel,
    )
