"""Signed links put in messages: unsubscribe (/u/) and privacy portal (/p/), opaque ids only (R33, R34)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sender.config import Settings
from sender.enums import Channel
from sender.tokens import TokenInvalid, TokenService

CHANNELS = tuple(Channel)


@dataclass(frozen=True)
class UnsubscribeLink:
    """What an unsubscribe token names: whose consent, for which purpose and channel, from which campaign."""

    contact_public_id: str
    purpose_id: int
    channel: str
    campaign_id: int | None


def unsubscribe_token(
    tokens: TokenService, contact_public_id: str, purpose_id: int, channel: str, campaign_id: int | None
) -> str:
    """Token for one (contact, purpose, channel); it never expires (R31)."""
    return tokens.dumps(
        "unsubscribe", {"c": contact_public_id, "p": purpose_id, "ch": channel, "k": campaign_id}
    )


def unsubscribe_url(
    settings: Settings,
    tokens: TokenService,
    contact_public_id: str,
    purpose_id: int,
    channel: str,
    campaign_id: int | None,
) -> str:
    """Absolute unsubscribe URL, used in the body, the footer and List-Unsubscribe."""
    token = unsubscribe_token(tokens, contact_public_id, purpose_id, channel, campaign_id)
    return f"{settings.public_base_url}/u/{token}"


def portal_token(tokens: TokenService, contact_public_id: str) -> str:
    """Token opening one person's privacy portal; it never expires."""
    return tokens.dumps("portal", {"c": contact_public_id})


def portal_url(settings: Settings, tokens: TokenService, contact_public_id: str) -> str:
    """Absolute privacy-portal URL."""
    return f"{settings.public_base_url}/p/{portal_token(tokens, contact_public_id)}"


def _int(value: Any) -> int:
    # bool is an int subclass; a forged payload must not slip True through as purpose 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TokenInvalid("payload")
    return value


def read_unsubscribe(tokens: TokenService, token: str) -> UnsubscribeLink:
    """Verify an unsubscribe token and return what it names; raise TokenInvalid for anything else."""
    payload = tokens.loads("unsubscribe", token)
    contact, channel, campaign = payload.get("c"), payload.get("ch"), payload.get("k")
    if not isinstance(contact, str) or not contact or channel not in CHANNELS:
        raise TokenInvalid("payload")
    return UnsubscribeLink(
        contact, _int(payload.get("p")), channel, None if campaign is None else _int(campaign)
    )


def read_portal(tokens: TokenService, token: str) -> str:
    """Verify a portal token and return the contact's public id; raise TokenInvalid for anything else."""
    contact = tokens.loads("portal", token).get("c")
    if not isinstance(contact, str) or not contact:
        raise TokenInvalid("payload")
    return contact
