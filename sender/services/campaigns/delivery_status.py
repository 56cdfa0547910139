"""The provider's delivery status of a sent message, from Twilio's status callbacks (R66).

Callbacks arrive late, twice or out of order. The update is one guarded UPDATE that only ever moves a
status forward (queued → sending → sent → delivered → read), and never away from a final one, so
replaying `sent` after `delivered` changes nothing.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sender.db import rowcount
from sender.enums import Channel, SuppressionReason
from sender.models import Contact, Delivery
from sender.services.audience.contacts import suppress

# Twilio's message statuses, by how far a message has gone; the final ones share the top ranks.
RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
FINAL = frozenset({"delivered", "undelivered", "failed", "canceled", "read"})
OPTED_OUT = "21610"


def _may_replace(new: str) -> list[str]:
    """Statuses that `new` may replace: lower ranks, and for `read` also `delivered`."""
    return [
        s for s, r in RANK.items() if r < RANK[new] and (s not in FINAL or (new, s) == ("read", "delivered"))
    ]


def record_status(
    session: Session, *, delivery_id: int | None, message_sid: str, status: str, error_code: str | None = None
) -> bool:
    """Apply one status callback; True if it changed something. The caller commits."""
    if status not in RANK:
        return False
    owner = or_(Delivery.provider_id == message_sid, Delivery.provider_id.startswith(f"{message_sid},"))
    target = Delivery.id == delivery_id if delivery_id is not None else owner
    changed = rowcount(
        session.execute(
            update(Delivery)
            .where(
                target,
                owner,
                or_(Delivery.provider_status.is_(None), Delivery.provider_status.in_(_may_replace(status))),
            )
            .values(
                provider_status=status,
                **({"last_error": f"twilio {error_code}"} if error_code and status in FINAL else {}),
            )
            .execution_options(synchronize_session=False)
        )
    )
    if changed and error_code == OPTED_OUT:
        # The carrier refused because the person opted out: no SMS to them again (R64).
        digest = session.scalar(
            select(Contact.phone_hash).join(Delivery, Delivery.contact_id == Contact.id).where(owner)
        )
        if digest:
            suppress(session, digest, Channel.SMS, SuppressionReason.CARRIER_OPT_OUT)
    return bool(changed)
