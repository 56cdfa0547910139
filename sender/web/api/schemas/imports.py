"""Input of the imports resource: the row report's filter (the upload itself is a multipart form)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.models.imports import ROW_OUTCOMES
from sender.web.api.schemas.base import OneOf
from sender.web.api.schemas.paging import PageQuery


class ReportQuery(PageQuery):
    """A page of a batch's row report, optionally of one outcome."""

    outcome: Annotated[str, OneOf(ROW_OUTCOMES), Field(description="Only this outcome.")] | None = None
