"""Spending the one-time links of the privacy portal and of sign-up confirmations (R37, R38).

A token is verified (signature, kind, age), then its id is recorded in the same transaction as the action
it authorises; a second use finds the id taken. Every way a token can be wrong raises the same
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
from sender.services.consent.links import OneTimeLink, read_portal, read_signup
from sender.tokens import TokenInvalid, TokenService


class LinkRefused(Exception):
    """A portal or confirmation token we will not act on: bad, expired, spent, of another kind, or unknown."""


def _verify(tokens: TokenService, settings: Settings, kind: str, token: str) -> OneTimeLink:
    try:
        if kind == "portal":
            return read_portal(tokens, token, settings.portal_link_ttl)
        return read_signup(tokens, token, settings.signup_ttl_days * 24 * 3600)
    except TokenInvalid:  # TokenExpired included: same answer (R38)
        raise LinkRefused() from None


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
) -> tuple[Contact, OneTimeLink]:
    """Verify a token and record its id as used, in the caller's transaction; a reuse raises LinkRefused."""
    contact, link = peek(session, tokens, settings, kind, token, statuses)
    try:
        # The primary key decides between two concurrent uses: the second waits, then fails here.
        with session.begin_nested():
            session.add(UsedToken(jti=link.jti, kind=kind))
    except IntegrityError:
        raise LinkRefused() from None
    return contact, link


def forget_spent(session: Session, settings: Settings) -> int:
    """Delete the ids of spent tokens that would be expired by now anyway; the caller commits."""
    longest = max(settings.portal_link_ttl, settings.signup_ttl_days * 24 * 3600)
    cutoff = utcnow() - timedelta(seconds=longest + 60)
    return rowcount(session.execute(delete(UsedToken).where(UsedToken.used_at < cutoff)))
