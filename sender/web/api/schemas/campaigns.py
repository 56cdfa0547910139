"""Input of the campaigns resource: a draft, and the deliveries listing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from sender.models.campaigns import DELIVERY_STATUSES
from sender.services.campaigns.schema import CampaignDraft
from sender.services.messages.variants import NAMES
from sender.web.api.schemas.base import MAX_ID, Id, Input, OneOf
from sender.web.api.schemas.paging import PageQuery

MAX_LISTS = 1_000


def in_utc(value: datetime) -> datetime:
    """The same moment in UTC; a date at the edge of the calendar cannot be moved and is refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of the supported range of dates") from None


class CampaignInput(CampaignDraft):
    """A draft campaign for lists, maybe scheduled; its content is checked as in the staff composer."""

    messages = {"lists": f"must be a non-empty array of list ids (whole numbers from 1 to {MAX_ID})"}

    lists: Annotated[list[Id], Field(min_length=1, max_length=MAX_LISTS)]
    scheduled_at: (
        Annotated[
            AwareDatetime,
            Field(strict=False, description="When to launch, with a time zone; the send call schedules it."),
            AfterValidator(in_utc),
        ]
        | None
    ) = None


class SendInput(Input):
    """Options of the send call (the body may be omitted)."""

    now: Annotated[bool, Field(description="Launch now even though the campaign is scheduled for later.")] = (
        False
    )


class WinnerInput(Input):
    """The variant a person picks as an A/B test's winner."""

    variant: Annotated[str, OneOf(NAMES), Field(description="A (the campaign's own content), B, C or D.")]


class DeliveriesQuery(PageQuery):
    """A page of a campaign's deliveries, optionally of one status."""

    status: Annotated[str, OneOf(DELIVERY_STATUSES), Field(description="Only this status.")] | None = None
