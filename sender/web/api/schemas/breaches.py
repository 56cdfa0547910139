"""Input of the breach register and proof resources: a notice to attach, a period of the organisation's proof."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from sender.web.api.schemas.base import Id, Input, Query
from sender.web.api.schemas.campaigns import in_utc

_WHEN = Annotated[
    AwareDatetime,
    Field(strict=False, description="Date and time with an offset (RFC 3339)."),
    AfterValidator(in_utc),
]


class NoticeInput(Input):
    """A draft `legal_notice` campaign to record as the incident's communication to the people affected."""

    campaign_id: Annotated[Id, Field(description="A draft campaign of kind legal_notice, free of promotion.")]


class PeriodQuery(Query):
    """The period of the organisation's proof of honouring: withdrawals made in [since, until)."""

    messages = {
        "since": "must be a date and time with an offset (RFC 3339)",
        "until": "must be a date and time with an offset (RFC 3339)",
    }

    since: _WHEN
    until: _WHEN

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as naive UTC."""
        return self.since.replace(tzinfo=None), self.until.replace(tzinfo=None)
