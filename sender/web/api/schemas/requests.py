"""Input of the rights-requests register: the listing's filters."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.models.rights import REQUEST_STATUSES
from sender.web.api.schemas.base import OneOf, Query


class RequestsQuery(Query):
    """Filters of the register listing."""

    messages = {"overdue": "must be true or false"}

    status: Annotated[str, OneOf(REQUEST_STATUSES), Field(description="Only this status.")] | None = None
    overdue: Annotated[bool, Field(description="Only open requests past their deadline.")] = False
