"""Sign-up with double opt-in (R53): an embeddable form, a JSON endpoint, and the confirmation link.

The form and the JSON endpoint answer alike whether the address is new, known or suppressed. The
confirmation link's GET shows a button (mail scanners fetch links); its POST confirms.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from sender import work
from sender.addresses import normalize_email
from sender.models import Purpose
from sender.services.consent import signup
from sender.services.consent.preferences import latest_wordings
from sender.services.errors import ValidationFailed
from sender.services.rights.links import peek, spend
from sender.web.bounds import json_object, parse_id
from sender.web.labels import say
from sender.web.public import bp
from sender.web.public.common import evidence, may_send_to, page, require_email_sender, speak_to
from sender.web.public.inputs import SignupInput
from sender.web.session import discard, get_session, runtime
from sender.work.jobs import SendSignupConfirmation

HONEYPOT = "website"
CONFIRMABLE = ("pending", "active", "restricted")


def _offers() -> list[tuple[Purpose, Any]]:
    """Each consent-based purpose that has a wording, with its current wording (shown beside the box)."""
    session = get_session()
    latest = latest_wordings(session)
    purposes = session.scalars(select(Purpose).where(Purpose.legal_basis == "consent").order_by(Purpose.name))
    return [(p, latest[p.id]) for p in purposes if p.id in latest]


def _form_choices() -> list[dict[str, Any]]:
    choices = []
    for value in request.form.getlist("consent"):
        slug, _, text = value.rpartition(":")
        version = parse_id(text)
        if not slug or version is None:
            raise ValidationFailed({"consent": f"malformed choice {value[:80]!r}; expected purpose:version"})
        choices.append({"purpose": slug, "wording_version": version})
    return choices


def _enqueue(result: signup.SignupResult, email: str) -> None:
    """Queue the confirmation job of every accepted sign-up, whether or not there is anything to confirm.

    A new, a known and a suppressed address cost the same here (one count against the address's hourly
    allowance, one job of the same kind), so the answer's time does not tell who is on file; the job finds
    for itself that there is nothing to send. It leaves once the sign-up is committed (never on rollback).
    """
    allowed = may_send_to(email)
    job = SendSignupConfirmation(
        contact_id=result.contact_id if allowed else None,
        wording_ids=tuple(result.wording_ids) if allowed else (),
    )
    work.enqueue(get_session(), job)


@bp.get("/signup")
def signup_page() -> ResponseReturnValue:
    """A page holding the sign-up form."""
    return page("public/signup.html", offers=_offers(), action="/signup")


@bp.get("/signup/snippet")
def signup_snippet() -> ResponseReturnValue:
    """The form alone, as HTML to paste into another site (it posts here)."""
    return page(
        "public/signup_form.html", offers=_offers(), action=f"{runtime().settings.public_base_url}/signup"
    )


@bp.post("/signup")
def signup_submit() -> ResponseReturnValue:
    """Record a sign-up from the form (HTML answer) or as JSON (JSON answer); both always say the same."""
    session = get_session()
    as_json = request.is_json
    require_email_sender()
    try:
        data = json_object(request.get_data(cache=True), True) if as_json else request.form
        if data.get(HONEYPOT):
            return _accepted(as_json)
        if as_json:
            given = SignupInput.parse(data)
        else:
            # A form's fields are text; only the choices need reading into the model's shape.
            given = SignupInput.parse(
                {"email": data.get("email"), "consents": _form_choices(), "locale": data.get("locale")}
            )
        locale = given.locale or request.accept_languages.best_match(("fr", "en"))
        result = signup.submit(
            session, runtime().settings, given.email, given.choices(), locale=locale, evidence=evidence()
        )
    except ValidationFailed as exc:
        discard()
        if as_json:
            return jsonify({"error": "validation_failed", "message": exc.message, "fields": exc.errors}), 422
        typed = request.form.get("email", "")
        return page(
            "public/signup.html",
            400,
            offers=_offers(),
            errors=_at_fields(exc.errors),
            email=typed,
            chosen=request.form.getlist("consent"),
            action="/signup",
        )
    _enqueue(result, normalize_email(str(given.email)))
    return _accepted(as_json)


def _at_fields(errors: dict[str, str]) -> dict[str, str]:
    """The form's two places for a refusal, in the page's language: the address, and the boxes."""
    shown = {}
    for name, reason in errors.items():
        if name == "email":
            shown["email"] = gettext("Enter a valid email address, such as name@example.org.")
        else:
            shown.setdefault("consents", say(reason))
    return shown


def _accepted(as_json: bool) -> ResponseReturnValue:
    if as_json:
        return jsonify({"status": "confirmation_sent_if_needed"}), 202
    return page("public/signup_sent.html")


@bp.get("/signup/confirm/<token>")
def signup_confirm_page(token: str) -> ResponseReturnValue:
    """A button that confirms (GET changes nothing)."""
    rt = runtime()
    contact, _ = peek(get_session(), rt.tokens, rt.settings, "signup", token, CONFIRMABLE)
    speak_to(contact)
    return page("public/signup_confirm.html")


@bp.post("/signup/confirm/<token>")
def signup_confirm(token: str) -> ResponseReturnValue:
    """Spend the confirmation link: the ticked purposes become consents (mechanism double_opt_in)."""
    session, rt = get_session(), runtime()
    contact, link = spend(session, rt.tokens, rt.settings, "signup", token, CONFIRMABLE)
    speak_to(contact)
    signup.confirm(session, contact, link)
    return page("public/signup_confirmed.html")
