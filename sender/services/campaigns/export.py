"""A campaign's deliveries as rows for a CSV export; addresses only for roles allowed to see them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Contact, Delivery

HEADER = ["delivery_id", "contact_id", "status", "reason", "attempts", "sent_at", "last_error"]
PAGE = 1000


def header(with_addresses: bool) -> list[str]:
    """Column names of the export."""
    return [*HEADER[:2], "email", *HEADER[2:]] if with_addresses else list(HEADER)


def rows(session: Session, campaign_id: int, with_addresses: bool) -> Iterator[list[Any]]:
    """Every delivery of the campaign in id order, read in keyset pages (constant memory)."""
    after = 0
    while True:
        page = session.execute(
            select(Delivery, Contact.public_id, Contact.email)
            .join(Contact, Contact.id == Delivery.contact_id)
            .where(Delivery.campaign_id == campaign_id, Delivery.id > after)
            .order_by(Delivery.id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        for delivery, public_id, email in page:
            row: list[Any] = [delivery.id, public_id]
            if with_addresses:
                row.append(email)
            row += [
                delivery.status,
                delivery.reason,
                delivery.attempts,
                delivery.sent_at.isoformat() if delivery.sent_at else "",
                delivery.last_error,
            ]
            yield row
        after = page[-1][0].id
