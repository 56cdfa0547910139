"""Signed links put in messages: unsubscribe (/u/) and privacy portal (/p/), opaque ids only (R33, R34).

A portal link in a message's footer opens the portal as often as the person likes within PORTAL_LINK_TTL
(flag "m"); the link mailed in answer to the access form, and every form's token inside the portal, act once.
"""

from __future__ import annotations

import secrets
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
    return unsubscribe_url_for(
        settings.public_base_url, tokens, contact_public_id, purpose_id, channel, campaign_id
    )


def unsubscribe_url_for(
    base_url: str,
    tokens: TokenService,
    contact_public_id: str,
    purpose_id: int,
    channel: str,
    campaign_id: int | None,
) -> str:
    """Absolute unsubscribe URL under a given public base URL."""
    token = unsubscribe_token(tokens, contact_public_id, purpose_id, channel, campaign_id)
    return f"{base_url}/u/{token}"


@dataclass(frozen=True)
class OneTimeLink:
    """What a portal, sign-up or confirmation token names: whose, its own id, and the wordings confirmed.

    `reusable` marks a message footer's portal link: it only opens the portal, and is never spent.
    `channel` is the channel whose consent requests a sign-up link confirms (email unless a portal grant
    on another channel asked for it).
    """

    contact_public_id: str
    jti: str
    wording_ids: tuple[int, ...] = ()
    reusable: bool = False
    channel: str = Channel.EMAIL


def new_jti() -> str:
    """A random token id, recorded once the token is spent (R37)."""
    return secrets.token_urlsafe(12)


def portal_token(tokens: TokenService, contact_public_id: str, *, reusable: bool = False) -> str:
    """Token opening one person's privacy portal; it expires after PORTAL_LINK_TTL and acts once unless reusable."""
    payload: dict[str, Any] = {"c": contact_public_id, "j": new_jti()}
    if reusable:
        payload["m"] = 1
    return tokens.dumps("portal", payload)


def confirmation_token(
    tokens: TokenService, kind: str, contact_public_id: str, jti: str | None = None
) -> str:
    """Token of a confirmation sent to the person's own address (kind "erase" or "address"); it acts once."""
    return tokens.dumps(kind, {"c": contact_public_id, "j": jti or new_jti()})


def signup_token(
    tokens: TokenService, contact_public_id: str, wording_ids: list[int], channel: str = Channel.EMAIL
) -> str:
    """Token of a sign-up confirmation link: the consent wordings the person ticked (own salt, R33)."""
    payload: dict[str, Any] = {"c": contact_public_id, "j": new_jti(), "w": sorted(wording_ids)}
    if channel != Channel.EMAIL:
        payload["ch"] = channel
    return tokens.dumps("signup", payload)


def _one_time(payload: dict[str, Any]) -> OneTimeLink:
    contact, jti, wordings = payload.get("c"), payload.get("j"), payload.get("w", [])
    if not isinstance(contact, str) or not contact or not isinstance(jti, str) or not 8 <= len(jti) <= 32:
        raise TokenInvalid("payload")
    channel = payload.get("ch", Channel.EMAIL)
    if not isinstance(wordings, list) or channel not in CHANNELS:
        raise TokenInvalid("payload")
    return OneTimeLink(contact, jti, tuple(_int(w) for w in wordings), payload.get("m") == 1, channel)


def portal_url(settings: Settings, tokens: TokenService, contact_public_id: str) -> str:
    """Absolute privacy-portal URL of a message's footer: it opens the portal as often as needed until it expires."""
    return f"{settings.public_base_url}/p/{portal_token(tokens, contact_public_id, reusable=True)}"


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


def read_one_time(tokens: TokenService, kind: str, token: str, max_age: int | None = None) -> OneTimeLink:
    """Verify a token of one of the single-use kinds; raise TokenInvalid (or TokenExpired) for anything else."""
    return _one_time(tokens.loads(kind, token, max_age))
