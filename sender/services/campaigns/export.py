"""A campaign's deliveries as rows for a CSV export; addresses only for roles allowed to see them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Contact, Delivery

HEADER = ["delivery_id", "contact_id", "status", "reason", "attempts", "sent_at", "last_error"]
PAGE = 5000
# The first page is small: the download starts at once, whatever the campaign's size.
FIRST_PAGE = 200


def header(with_addresses: bool) -> list[str]:
    """Column names of the export."""
    return [*HEADER[:2], "email", *HEADER[2:]] if with_addresses else list(HEADER)


def rows(session: Session, campaign_id: int, with_addresses: bool) -> Iterator[tuple[Any, ...]]:
    """Every delivery of the campaign in id order, read as plain columns in keyset pages (constant memory)."""
    columns = [
        Delivery.id,
        Contact.public_id,
        *([Contact.email] if with_addresses else []),
        Delivery.status,
        Delivery.reason,
        Delivery.attempts,
        Delivery.sent_at,
        Delivery.last_error,
    ]
    after, limit = 0, FIRST_PAGE
    while True:
        page = session.execute(
            select(*columns)
            .join(Contact, Contact.id == Delivery.contact_id)
            .where(Delivery.campaign_id == campaign_id, Delivery.id > after)
            .order_by(Delivery.id)
            .limit(limit)
        ).all()
        if not page:
            return
        yield from (tuple(row) for row in page)
        after, limit = page[-1].id, PAGE
