"""What every public page shares: private headers, the organisation block, the page language, evidence."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext, refresh
from limits import parse

from sender.addresses import address_hash
from sender.channels.base import channels
from sender.models import Contact
from sender.services.accounts import organisation as org_settings
from sender.services.errors import NotConfigured
from sender.services.messages import system_email
from sender.web.public import bp
from sender.web.session import get_session, runtime

EMAILS_PER_ADDRESS = parse("3 per hour")
SECURITY_HEADERS = {
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
    response.headers.update(SECURITY_HEADERS)
    return response


@bp.context_processor
def _language() -> dict[str, Any]:
    return {"get_locale": lambda: str(get_locale() or runtime().settings.default_locale)}


def channel_labels() -> dict[str, str]:
    """Each channel's name as people read it, in the page's language."""
    return {channel.name: gettext(channel.label) for channel in channels()}


def speak_to(contact: Contact | None) -> None:
    """Answer in this person's language from now on (Accept-Language no longer counts)."""
    if contact is not None:
        g.page_locale = org_settings.language_for(get_session(), runtime().settings, contact.locale)
        refresh()


def organisation() -> dict[str, str]:
    """The controller's identity, shown on every page."""
    return org_settings.controller(get_session(), runtime().settings)


def page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """Render a public page with the organisation block."""
    return (
        render_template(template, org=organisation(), channel_labels=channel_labels(), **context),
        status,
    )


def require_email_sender() -> None:
    """Refuse now, before anything is recorded, when no system email could leave (no job that dies later)."""
    system_email.require_sender(get_session(), runtime().settings)


@bp.errorhandler(NotConfigured)
def _not_configured(exc: NotConfigured) -> ResponseReturnValue:
    # The same answer whatever the address: it depends only on the organisation's settings.
    if request.is_json:
        return {"error": "not_configured", "message": exc.message, "fields": exc.errors}, 503
    return page("public/unavailable.html", 503)


def may_send_to(email: str) -> bool:
    """Count one system email to this address (by keyed hash); False once it has had 3 in the hour.

    However many clients ask, nobody can flood a mailbox with portal links or confirmation requests.
    """
    digest = address_hash(runtime().settings.hash_key, email)
    return bool(
        current_app.extensions["sender_limiter"].limiter.hit(EMAILS_PER_ADDRESS, "system-email", digest)
    )


def evidence() -> dict[str, str]:
    """Minimal proof of the request (no IP address, never the URL: it holds the token)."""
    agent = request.headers.get("User-Agent", "")
    return {"user_agent": agent} if agent else {}
