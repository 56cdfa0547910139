"""Sign-up with double opt-in (R53): nothing is sendable until the emailed confirmation link is used.

A new address becomes a `pending` contact, which the gate refuses everywhere; each ticked purpose is stored
as a consent request with the wording version shown. The confirmation link (its own salt) turns those
requests into grants with mechanism `double_opt_in`. Submitting again never downgrades a confirmed consent
and never unsubscribes anyone. Unconfirmed sign-ups are deleted after SIGNUP_TTL_DAYS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.enums import Channel, ConsentAction, ConsentSource, ConsentStatus, ContactStatus
from sender.i18n import N_, normalise
from sender.models import ConsentState, ConsentWording, Contact, Purpose
from sender.services.audience.contacts import normalise_addresses, suppressed_channels
from sender.services.consent import ledger
from sender.services.consent.expiry import is_live_grant
from sender.services.consent.links import OneTimeLink
from sender.services.errors import ValidationFailed
from sender.services.records import audit

MAX_PURPOSES = 50
ACTOR = "signup"


@dataclass(frozen=True)
class SignupResult:
    """Whom to send a confirmation link to, for which wordings; contact_id None when nothing is to be sent."""

    contact_id: int | None
    wording_ids: list[int]


def parse_choices(session: Session, choices: Any) -> list[ConsentWording]:
    """The wordings ticked: a list of {purpose, wording_version}; each must exist and rest on consent."""
    if not isinstance(choices, list) or not choices:
        raise ValidationFailed({"consents": N_("tick at least one purpose")})
    if len(choices) > MAX_PURPOSES:
        raise ValidationFailed(
            {"consents": N_("at most %(max_purposes)s purposes", max_purposes=MAX_PURPOSES)}
        )
    wordings = []
    for index, item in enumerate(choices):
        field = f"consents[{index}]"
        if not isinstance(item, dict) or set(item) != {"purpose", "wording_version"}:
            raise ValidationFailed({field: N_("must be an object with purpose and wording_version")})
        version = item["wording_version"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValidationFailed({f"{field}.wording_version": N_("must be an integer")})
        row = session.execute(
            select(ConsentWording, Purpose)
            .join(Purpose, Purpose.id == ConsentWording.purpose_id)
            .where(Purpose.slug == item["purpose"], ConsentWording.version == version)
        ).one_or_none()
        if row is None:
            raise ValidationFailed(
                {
                    field: N_(
                        "no wording version %(version)s for purpose %(purpose)r",
                        version=version,
                        purpose=item["purpose"],
                    )
                }
            )
        if row.Purpose.legal_basis != "consent":
            raise ValidationFailed({field: N_("this purpose does not rest on consent")})
        wordings.append(row.ConsentWording)
    return wordings


def _known(session: Session, email: str | None) -> Contact | None:
    """The contact holding this address, locked until the sign-up commits."""
    return session.scalar(select(Contact).where(Contact.email == email).with_for_update())


def submit(
    session: Session,
    settings: Settings,
    email: Any,
    choices: Any,
    *,
    locale: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> SignupResult:
    """Record a sign-up; the caller commits, then sends the confirmation to `contact_id` (if any)."""
    if not isinstance(email, str) or not email.strip():
        raise ValidationFailed({"email": N_("is required")})
    addresses = normalise_addresses(settings, {"email": email})
    wordings = parse_choices(session, choices)
    # Every accepted sign-up costs the same (R36: the answer's time must not tell who is on file): the
    # address is looked up whatever the suppression list says, and each path writes one audit event, so
    # that each commits a write.
    contact = _known(session, addresses.values["email"])
    if suppressed_channels(session, addresses) or (
        contact is not None and contact.status == ContactStatus.ERASED
    ):
        # Objected or erased: nothing happens, and the answer is the same as for anyone else.
        audit.record(session, ACTOR, "signup.refused", "contact", "-", {"reason": "suppressed"})
        return SignupResult(None, [])
    action = "contact.signup_again"
    if contact is None:
        contact = Contact(
            **addresses.values,
            locale=normalise(locale),
            source="form",
            source_detail="sign-up form",
            status=ContactStatus.PENDING,
        )
        try:
            with session.begin_nested():
                session.add(contact)
            action = "contact.signup"
        except IntegrityError:
            # A concurrent sign-up of the same address created it first (the unique email waited for its
            # commit): carry on with that contact, as a second sign-up would.
            contact = _known(session, addresses.values["email"])
            if contact is None:
                raise
    asked = []
    for wording in wordings:
        state = session.get(ConsentState, (contact.id, wording.purpose_id, Channel.EMAIL))
        if state is not None and is_live_grant(state.status, state.expires_at, utcnow()):
            continue  # already confirmed: never downgraded to a request
        purpose = session.get(Purpose, wording.purpose_id)
        assert purpose is not None
        ledger.record(
            session,
            contact,
            purpose,
            channel=Channel.EMAIL,
            action=ConsentAction.GRANT,
            source=ConsentSource.FORM,
            mechanism="checkbox",
            actor=ACTOR,
            wording_version=wording.version,
            collection_point="signup",
            evidence=evidence,
            await_confirmation=True,
        )
        asked.append(wording.id)
    audit.record(session, ACTOR, action, "contact", contact.public_id, {"asked": len(asked)})
    return SignupResult(contact.id if asked else None, asked)


def confirm(session: Session, contact: Contact, link: OneTimeLink) -> int:
    """Turn the requests named by a spent confirmation link into grants; returns how many were granted.

    The link confirms the requests of the channel it was sent on (email, or SMS for a portal grant there).
    """
    granted = 0
    for wording in session.scalars(select(ConsentWording).where(ConsentWording.id.in_(link.wording_ids))):
        state = session.get(ConsentState, (contact.id, wording.purpose_id, link.channel))
        # Only a request still waiting is confirmed: a withdrawal made since then wins.
        if state is None or state.status != ConsentStatus.PENDING:
            continue
        purpose = session.get(Purpose, wording.purpose_id)
        assert purpose is not None
        ledger.record(
            session,
            contact,
            purpose,
            channel=link.channel,
            action=ConsentAction.GRANT,
            source=ConsentSource.DOUBLE_OPT_IN,
            mechanism="double_opt_in",
            actor=f"contact:{contact.public_id}",
            wording_version=wording.version,
            collection_point="signup-confirmation",
        )
        granted += 1
    if contact.status == ContactStatus.PENDING:
        contact.status = ContactStatus.ACTIVE
    session.flush()
    audit.record(
        session,
        f"contact:{contact.public_id}",
        "contact.confirm",
        "contact",
        contact.public_id,
        {"granted": granted},
    )
    return granted


def purge_unconfirmed(session: Session, settings: Settings) -> int:
    """Delete sign-ups never confirmed within SIGNUP_TTL_DAYS (with their requests); the caller commits."""
    cutoff = utcnow() - timedelta(days=settings.signup_ttl_days)
    ids = list(
        session.scalars(
            select(Contact.id).where(Contact.status == ContactStatus.PENDING, Contact.created_at < cutoff)
        )
    )
    if not ids:
        return 0
    # The database cascades to the consent requests and states of these contacts.
    deleted = rowcount(session.execute(delete(Contact).where(Contact.id.in_(ids))))
    audit.record(session, "system", "signup.purge", "contact", "-", {"count": deleted})
    return deleted
