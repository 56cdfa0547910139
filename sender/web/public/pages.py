"""Public pages reached from links in messages (no login): unsubscribe and the privacy portal.

GET never changes anything (mail scanners follow links); every change is a POST, authorised by the signed
token in the URL alone: no session, cookie or CSRF token (RFC 8058). Every bad link gets the same page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from sender.services.consent import links, withdrawal
from sender.services.consent.withdrawal import LinkInvalid, UnsubscribeTarget
from sender.services.errors import ValidationFailed
from sender.web.bounds import record_id
from sender.web.session import get_session, runtime

bp = Blueprint("public", __name__)

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
CHANNEL_LABELS = {"email": "e-mail", "sms": "SMS"}
INVALID_STATUS = 404
_SECURITY_HEADERS = {
    # The token in the URL must not leak to other sites, caches or search engines (R38).
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.update(_SECURITY_HEADERS)
    return response


def _organisation() -> dict[str, str]:
    settings = runtime().settings
    return {
        "name": settings.org_name,
        "address": settings.org_address,
        "contact_email": settings.org_contact_email,
        "dpo": settings.dpo_contact,
    }


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return (
        render_template(template, org=_organisation(), channel_labels=CHANNEL_LABELS, **context),
        status,
    )


@bp.errorhandler(LinkInvalid)
def _invalid_link(_exc: LinkInvalid) -> ResponseReturnValue:
    # Same bytes whatever was wrong, so the page cannot tell anyone whether an address is on file.
    return _page("public/invalid_link.html", INVALID_STATUS)


def _evidence() -> dict[str, str]:
    """Minimal proof of the request (no IP address, never the URL: it holds the token)."""
    agent = request.headers.get("User-Agent", "")
    return {"user_agent": agent} if agent else {}


def _is_one_click() -> bool:
    if request.form.get("List-Unsubscribe") == "One-Click":
        return True
    # A client that forgets the Content-Type still sends the RFC 8058 body.
    return not request.form and request.get_data(as_text=True).strip() == ONE_CLICK_BODY


def _portal_url(public_id: str) -> str:
    rt = runtime()
    return links.portal_url(rt.settings, rt.tokens, public_id)


def _target(token: str) -> UnsubscribeTarget:
    return withdrawal.resolve_unsubscribe(get_session(), runtime().tokens, token)


@bp.get("/u/<token>")
def unsubscribe_confirm(token: str) -> ResponseReturnValue:
    """Confirmation page naming the purpose; its buttons POST back here."""
    target = _target(token)
    return _page(
        "public/unsubscribe.html",
        purpose=target.purpose,
        channel=target.channel,
        portal_url=_portal_url(target.contact.public_id),
    )


@bp.post("/u/<token>")
def unsubscribe_post(token: str) -> ResponseReturnValue:
    """One-click (RFC 8058) or a button of the confirmation page; answers 200, never a redirect."""
    session = get_session()
    target = _target(token)
    if _is_one_click():
        withdrawal.one_click(session, target, _evidence())
        done = "one_click"
    elif request.form.get("action") == "stop_all":
        withdrawal.stop_all(session, target.contact, source="unsubscribe_page", evidence=_evidence())
        done = "stop_all"
    else:
        withdrawal.page_unsubscribe(session, target, _evidence())
        done = "unsubscribe"
    session.commit()
    return _page(
        "public/unsubscribed.html",
        done=done,
        purpose=target.purpose,
        channel=target.channel,
        portal_url=_portal_url(target.contact.public_id),
    )


@bp.get("/p/<token>")
def portal(token: str) -> ResponseReturnValue:
    """The privacy portal: purposes and current choices per channel, nothing personal shown."""
    session = get_session()
    contact = withdrawal.resolve_portal(session, runtime().tokens, token)
    return _page("public/portal.html", choices=withdrawal.choices(session, contact))


@bp.post("/p/<token>")
def portal_post(token: str) -> ResponseReturnValue:
    """Withdraw one (purpose, channel) or object to all marketing, then show the portal again."""
    session = get_session()
    contact = withdrawal.resolve_portal(session, runtime().tokens, token)
    action = request.form.get("action")
    try:
        if action == "stop_all":
            withdrawal.stop_all(session, contact, source="portal", evidence=_evidence())
        elif action == "withdraw":
            withdrawal.portal_withdraw(
                session,
                contact,
                record_id(request.form.get("purpose", type=int)),
                request.form.get("channel"),
                _evidence(),
            )
        else:
            raise ValidationFailed({"action": "choose what to withdraw"})
    except ValidationFailed as exc:
        session.rollback()
        return _page(
            "public/portal.html", 400, choices=withdrawal.choices(session, contact), errors=exc.errors
        )
    session.commit()
    return _page("public/portal.html", choices=withdrawal.choices(session, contact), done=action)
