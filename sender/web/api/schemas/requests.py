"""Input of the rights-requests register: new requests, extensions, answers and the listing's filters."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from sender.models.rights import REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_STATUSES
from sender.services.rights.requests import MAX_EXTENSION_MONTHS, MAX_TEXT
from sender.web.api.schemas.base import Input, NonBlank, OneOf, Query, Text
from sender.web.api.schemas.campaigns import in_utc


class RequestsQuery(Query):
    """Filters of the register listing."""

    messages = {"overdue": "must be true or false"}

    status: Annotated[str, OneOf(REQUEST_STATUSES), Field(description="Only this status.")] | None = None
    overdue: Annotated[bool, Field(description="Only open requests past their deadline.")] = False


# A moment with its offset (RFC 3339), read here so that every bad field is named in one answer.
_WHEN = Annotated[
    AwareDatetime,
    Field(strict=False, description="Date and time with an offset (RFC 3339)."),
    AfterValidator(in_utc),
]


class RightsRequestInput(Input):
    """A request received by post, email, phone or in person."""

    kind: Annotated[str, OneOf(REQUEST_KINDS)]
    received_via: Annotated[str, OneOf(REQUEST_CHANNELS)]
    received_at: _WHEN | None = None
    contact_id: (
        Annotated[Text, Field(max_length=64, description="The contact's public id, if known.")] | None
    ) = None


class RightsRequestExtension(Input):
    """An extension of the deadline (Art. 12(3)), with the reasons told to the person."""

    months: Annotated[int, Field(ge=1, le=MAX_EXTENSION_MONTHS)]
    reason: Annotated[NonBlank, Field(max_length=MAX_TEXT)]
    notified_at: _WHEN


class RightsRequestClose(Input):
    """The answer given: completed or refused, with what was done or why not."""

    status: Annotated[str, OneOf(("completed", "refused"))]
    outcome: Annotated[NonBlank, Field(max_length=MAX_TEXT)]
