"""Input of the audit trail resource: the filters of a page of events."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.web.api.schemas.base import Id, Query
from sender.web.api.schemas.breaches import _WHEN


class AuditQuery(Query):
    """Filters of the trail, newest first; `before` pages on."""

    messages = {
        "since": "must be a date and time with an offset (RFC 3339)",
        "until": "must be a date and time with an offset (RFC 3339)",
    }

    action: (
        Annotated[str, Field(max_length=64, description="An action, or its family (`consent`).")] | None
    ) = None
    actor: Annotated[str, Field(max_length=64, description="Who acted, e.g. `user:3`.")] | None = None
    subject: Annotated[str, Field(max_length=64, description="The subject's id.")] | None = None
    since: _WHEN | None = None
    until: _WHEN | None = None
    before: Annotated[Id, Field(description="Only events older than this event id.")] | None = None
    limit: Annotated[int, Field(ge=1, le=500, description="Events per page.")] = 100
