"""Input of the SMS replies resource: the listing's filters and a review decision."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.models.sms import INBOUND_ACTIONS
from sender.services.consent.sms_replies import REVIEW_DECISIONS
from sender.web.api.schemas.base import Input, OneOf, Query, Text


class RepliesQuery(Query):
    """Filters of the replies listing."""

    action: (
        Annotated[
            str, OneOf(INBOUND_ACTIONS), Field(description="Only replies with this action, e.g. flagged.")
        ]
        | None
    ) = None
    contact: (
        Annotated[Text, Field(max_length=64, description="Only the replies of this contact (public id).")]
        | None
    ) = None


class ReviewDecision(Input):
    """What a person decided about a reply flagged for review."""

    decision: Annotated[str, OneOf(REVIEW_DECISIONS), Field(description="withdraw (as for STOP) or dismiss.")]
