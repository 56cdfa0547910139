"""Public pages for the people we message (no login): one module per flow, one blueprint.

GET never changes anything (mail scanners follow links); every change is a POST authorised by a signed
token alone: no session, cookie or CSRF token. Every bad link of a kind gets the same page.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)


def _register_flows() -> None:
    # Imported for their route registrations on `bp`.
    from sender.web.public import access, confirm, portal, redirects, schemas, signup, unsubscribe  # noqa: F401


_register_flows()
