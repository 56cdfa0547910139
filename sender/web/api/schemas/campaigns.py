"""Input of the campaigns resource: a draft, and the deliveries listing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from sender.models.campaigns import DELIVERY_STATUSES
from sender.services.campaigns.lifecycle import SUPPORTED_CHANNELS
from sender.web.api.schemas.base import MAX_ID, Id, Input, NonBlank, OneOf, Text
from sender.web.api.schemas.paging import PageQuery

MAX_BODY = 500_000
MAX_LISTS = 1_000
# Requalification campaigns are not created through this call.
KINDS = ("marketing", "legal_notice")


def in_utc(value: datetime) -> datetime:
    """The same moment in UTC; a date at the edge of the calendar cannot be moved and is refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of the supported range of dates") from None


class CampaignInput(Input):
    """A draft campaign; subject and bodies are sandboxed Jinja2 where `contact` is exposed."""

    messages = {"lists": f"must be a non-empty array of list ids (whole numbers from 1 to {MAX_ID})"}

    name: Annotated[NonBlank, Field(max_length=200)]
    purpose: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=64,
            description="Slug of the purpose; only contacts consenting to it receive.",
        ),
    ]
    channel: Annotated[str, OneOf(SUPPORTED_CHANNELS)] = "email"
    kind: Annotated[str, OneOf(KINDS)] = "marketing"
    lists: Annotated[list[Id], Field(min_length=1, max_length=MAX_LISTS)]
    subject: Annotated[
        NonBlank, Field(max_length=255, description="Jinja2 (sandboxed); `contact` is exposed.")
    ]
    body_html: Annotated[Text, Field(max_length=MAX_BODY, description="Jinja2 (sandboxed, autoescaped).")] = (
        ""
    )
    body_text: Annotated[NonBlank, Field(max_length=MAX_BODY, description="Jinja2 (sandboxed).")]
    scheduled_at: (
        Annotated[
            AwareDatetime,
            Field(strict=False, description="When to launch, with a time zone; the send call schedules it."),
            AfterValidator(in_utc),
        ]
        | None
    ) = None


class DeliveriesQuery(PageQuery):
    """A page of a campaign's deliveries, optionally of one status."""

    status: Annotated[str, OneOf(DELIVERY_STATUSES), Field(description="Only this status.")] | None = None
