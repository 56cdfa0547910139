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
from sender.web.bounds import record_id
from sender.web.public import bp
from sender.web.public.common import evidence, may_send_to, page, speak_to
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
        slug, _, version = value.rpartition(":")
        if not slug or not version.isdigit() or record_id(int(version)) is None:
            raise ValidationFailed({"consent": f"malformed choice {value[:80]!r}; expected purpose:version"})
        choices.append({"purpose": slug, "wording_version": int(version)})
    return choices


def _enqueue(result: signup.SignupResult, email: str) -> None:
    # The job is sent once the sign-up is committed; a request that rolls back sends nothing.
    if result.contact_id is not None and may_send_to(email):
        job = SendSignupConfirmation(contact_id=result.contact_id, wording_ids=tuple(result.wording_ids))
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
    data: Any = request.get_json(silent=True) if as_json else None
    if as_json and not isinstance(data, dict):
        return jsonify({"error": "validation_failed", "fields": {"body": "must be a JSON object"}}), 422
    try:
        if (data or request.form).get(HONEYPOT):
            return _accepted(as_json)
        if as_json:
            unknown = sorted(set(data) - {"email", "consents", "locale", HONEYPOT})
            if unknown:
                raise ValidationFailed({name: "unknown field" for name in unknown})
            email, choices, locale = data.get("email"), data.get("consents"), data.get("locale")
        else:
            email, choices, locale = request.form.get("email"), _form_choices(), request.form.get("locale")
        locale = locale or request.accept_languages.best_match(("fr", "en"))
        result = signup.submit(
            session, runtime().settings, email, choices, locale=locale, evidence=evidence()
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
    _enqueue(result, normalize_email(str(email)))
    return _accepted(as_json)


def _at_fields(errors: dict[str, str]) -> dict[str, str]:
    """The form's two places for a refusal, in the page's language: the address, and the boxes."""
    shown = {}
    for name, reason in errors.items():
        if name == "email":
            shown["email"] = gettext("Enter a valid email address, such as name@example.org.")
        else:
            shown.setdefault("consents", gettext(reason))
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
