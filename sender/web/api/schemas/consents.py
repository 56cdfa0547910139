"""Input of the consents resource: one ledger event, and the eligibility question."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.services.consent import ledger
from sender.web.api.schemas.base import Id, Input, OneOf, Query, Text

Channel = Annotated[str, OneOf(ledger.CHANNELS)]
Slug = Annotated[Text, Field(min_length=1, max_length=64, description="Purpose slug.")]
MECHANISMS = ", ".join(sorted(ledger.GRANT_MECHANISMS | ledger.WITHDRAW_MECHANISMS))


# Evidence values are stored cut to ledger.EVIDENCE_KEYS; longer input is cut, not refused, up to this bound.
MAX_EVIDENCE = 2_000


def _kept(name: str) -> str:
    return f"Stored cut to {ledger.EVIDENCE_KEYS[name]} characters."


class Evidence(Input):
    """Minimal proof; an IP address is stored truncated (IPv4 /24, IPv6 /48).

    Missing ip and user_agent are taken from the request.
    """

    ip: Annotated[Text, Field(max_length=MAX_EVIDENCE, description="IPv4 or IPv6 address.")] | None = None
    user_agent: Annotated[Text, Field(max_length=MAX_EVIDENCE, description=_kept("user_agent"))] | None = None
    form_id: Annotated[Text, Field(max_length=MAX_EVIDENCE, description=_kept("form_id"))] | None = None
    request_id: Annotated[Text, Field(max_length=MAX_EVIDENCE, description=_kept("request_id"))] | None = None
    page_url: Annotated[Text, Field(max_length=MAX_EVIDENCE, description=_kept("page_url"))] | None = None
    note: Annotated[Text, Field(max_length=MAX_EVIDENCE, description=_kept("note"))] | None = None


class ConsentInput(Input):
    """A grant or a withdrawal with its proof (Art. 7(1))."""

    purpose: Slug
    channel: Channel
    action: Annotated[str, OneOf(ledger.ACTIONS)]
    source: Annotated[str, OneOf(sorted(ledger.SOURCES))] = "api"
    mechanism: Annotated[
        Text,
        Field(
            max_length=64,
            description=f"How the person acted: {MECHANISMS}. Non-affirmative mechanisms (pre_ticked, "
            "terms_acceptance, silence...) are refused with 422.",
        ),
    ]
    wording_version: Annotated[Id, Field(description="Required for a grant.")] | None = None
    collection_point: Annotated[Text, Field(max_length=255)] = "api"
    evidence: Evidence | None = None


class EligibilityQuery(Query):
    """The purpose and channel to ask the gate about."""

    purpose: Slug
    channel: Annotated[str, OneOf(ledger.CHANNELS), Field(description="Channel.")]
