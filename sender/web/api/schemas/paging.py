"""Query of every paged listing."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.web.api.schemas.base import Query, Text

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageQuery(Query):
    """An opaque cursor and a bounded page size."""

    messages = {"limit": f"must be a whole number from 1 to {MAX_LIMIT}"}

    cursor: Annotated[
        Text | None, Field(description="The next_cursor of the previous page; omit for the first page.")
    ] = None
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT
