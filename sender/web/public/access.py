"""The public "access my data" form: it always answers the same way and mails a link to that address only.

Whether or not the address is on file, the page, its status and its headers are identical (R36); the link
goes out through a job, sent once the request's work is committed, so the answer does not wait on a mail
server for known addresses either.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from sender import work
from sender.addresses import AddressError, normalize_email
from sender.models import Contact
from sender.web.public import bp
from sender.web.public.common import may_send_to, page, require_email_sender
from sender.web.session import get_session
from sender.work.jobs import SendPortalLink

HONEYPOT = "website"
REACHABLE = ("active", "restricted")


@bp.get("/access")
def access_form() -> ResponseReturnValue:
    """The form asking for an email address."""
    return page("public/access.html")


@bp.post("/access")
def access_request() -> ResponseReturnValue:
    """Queue a fresh portal link for a known address; answer the same for any well-formed address."""
    if request.form.get(HONEYPOT):
        return page("public/access_sent.html")  # a bot filled the hidden field: say the same, do nothing
    raw = request.form.get("email", "")
    require_email_sender()
    try:
        email = normalize_email(raw)
    except AddressError as exc:
        return page("public/access.html", 400, errors={"email": exc.message}, value=raw[:320])
    contact_id = get_session().scalar(
        select(Contact.id).where(Contact.email == email, Contact.status.in_(REACHABLE))
    )
    # Over the limit the answer is the same, so it says nothing about the address.
    if contact_id is not None and may_send_to(email):
        work.enqueue(get_session(), SendPortalLink(contact_id=contact_id))
    return page("public/access_sent.html")
