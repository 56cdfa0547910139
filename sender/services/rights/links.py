"""Spending the one-time links of the privacy portal, of sign-up and of other confirmations (R37, R38).

A token is verified (signature, kind, age), then its id is recorded in the same transaction as the action
it authorises; a second use finds the id taken. A message footer's portal link is the exception: it only
opens the portal, as often as needed within its lifetime. Every way a token can be wrong raises the same
LinkRefused, so the answer never tells whether an address is on file.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import rowcount, utcnow
from sender.models import Contact, UsedToken
from sender.services.consent.links import OneTimeLink, read_one_time
from sender.tokens import TokenInvalid, TokenService

# A fresh link may be asked with a portal link of any age: it goes to the person's own address only.
RENEWAL_MAX_AGE = 10 * 365 * 24 * 3600


class LinkRefused(Exception):
    """A portal or confirmation token we will not act on: bad, expired, spent, of another kind, or unknown."""


def lifetime(settings: Settings, kind: str) -> int:
    """Seconds a single-use link of this kind stays valid: SIGNUP_TTL_DAYS for sign-ups, else PORTAL_LINK_TTL."""
    return settings.signup_ttl_days * 24 * 3600 if kind == "signup" else settings.portal_link_ttl


def _verify(tokens: TokenService, settings: Settings, kind: str, token: str) -> OneTimeLink:
    try:
        return read_one_time(tokens, kind, token, lifetime(settings, kind))
    except TokenInvalid:  # TokenExpired included: same answer (R38)
        raise LinkRefused() from None


def renewal_contact(session: Session, tokens: TokenService, token: str) -> Contact | None:
    """The person a portal link of any age (expired or spent included) was made for, or None."""
    try:
        link = read_one_time(tokens, "portal", token, RENEWAL_MAX_AGE)
    except TokenInvalid:
        return None
    return session.scalar(select(Contact).where(Contact.public_id == link.contact_public_id))


def is_spent(session: Session, jti: str) -> bool:
    """Whether a token id was already used."""
    return session.get(UsedToken, jti) is not None


def peek(
    session: Session,
    tokens: TokenService,
    settings: Settings,
    kind: str,
    token: str,
    statuses: tuple[str, ...],
) -> tuple[Contact, OneTimeLink]:
    """Verify a token without spending it (GET pages); the contact must be in one of `statuses`."""
    link = _verify(tokens, settings, kind, token)
    contact = session.scalar(select(Contact).where(Contact.public_id == link.contact_public_id))
    if contact is None or contact.status not in statuses or is_spent(session, link.jti):
        raise LinkRefused()
    return contact, link


def spend(
    session: Session,
    tokens: TokenService,
    settings: Settings,
    kind: str,
    token: str,
    statuses: tuple[str, ...],
    *,
    opening: bool = False,
) -> tuple[Contact, OneTimeLink]:
    """Verify a token and record its id as used, in the caller's transaction; a reuse raises LinkRefused.

    A reusable (footer) link is accepted only when `opening` the portal, and is then left unspent.
    """
    contact, link = peek(session, tokens, settings, kind, token, statuses)
    if link.reusable:
        if not opening:
            raise LinkRefused()
        return contact, link
    try:
        # The primary key decides between two concurrent uses: the second waits, then fails here.
        with session.begin_nested():
            session.add(UsedToken(jti=link.jti, kind=kind))
    except IntegrityError:
        raise LinkRefused() from None
    return contact, link


def forget_spent(session: Session, settings: Settings) -> int:
    """Delete the ids of spent tokens that would be expired by now anyway; the caller commits."""
    longest = max(lifetime(settings, "portal"), lifetime(settings, "signup"))
    cutoff = utcnow() - timedelta(seconds=longest + 60)
    return rowcount(session.execute(delete(UsedToken).where(UsedToken.used_at < cutoff)))
