"""Input of the lists resource: a new list and a bulk membership change."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.services.audience import lists
from sender.web.api.schemas.base import Input, NonBlank, Text

PublicId = Annotated[Text, Field(min_length=1, max_length=64)]


class ListInput(Input):
    """A named list of contacts (membership is not consent)."""

    messages = {"name": f"is required: a non-empty string of at most {lists.MAX_NAME} characters"}

    name: Annotated[NonBlank, Field(max_length=lists.MAX_NAME)]
    description: Annotated[Text, Field(max_length=10_000)] = ""


class MemberIds(Input):
    """Contacts to add to or remove from a list, by public id."""

    contact_ids: Annotated[
        list[PublicId],
        Field(min_length=1, max_length=lists.MAX_IDS_PER_CALL, description="Contact public ids."),
    ]
