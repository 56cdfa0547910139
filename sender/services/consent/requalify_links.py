"""Signed links of a requalification message: confirm and decline, one salt each, opaque ids only (R33, R34)."""

from __future__ import annotations

from dataclasses import dataclass

from sender.config import Settings
from sender.tokens import TokenInvalid, TokenService

KINDS = {"confirm": "requalify-confirm", "decline": "requalify-decline"}


@dataclass(frozen=True)
class AskLink:
    """What an answer link names: whose answer, to which cycle (campaign), for which purpose."""

    contact_public_id: str
    campaign_id: int
    purpose_id: int


def answer_url(settings: Settings, tokens: TokenService, answer: str, link: AskLink) -> str:
    """Absolute URL of the confirm or decline page of one ask."""
    token = tokens.dumps(
        KINDS[answer], {"c": link.contact_public_id, "k": link.campaign_id, "p": link.purpose_id}
    )
    return f"{settings.public_base_url}/requalify/{answer}/{token}"


def read(tokens: TokenService, answer: str, token: str) -> AskLink:
    """Verify a confirm or decline token; raise TokenInvalid for anything else (a confirm is no decline)."""
    payload = tokens.loads(KINDS[answer], token)
    contact, campaign, purpose = payload.get("c"), payload.get("k"), payload.get("p")
    if not isinstance(contact, str) or not contact:
        raise TokenInvalid("payload")
    for value in (campaign, purpose):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TokenInvalid("payload")
    assert isinstance(campaign, int) and isinstance(purpose, int)
    return AskLink(contact, campaign, purpose)
