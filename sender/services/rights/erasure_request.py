"""Erasure asked in the portal (Art. 17, R43): done only once confirmed from the person's own address.

Holding a portal link is not proof enough to erase someone for good: the request is entered in the register
at once, and a one-use link goes to the person's address (email, or SMS for a phone-only contact where SMS is
configured). When no channel can carry it, the open request waits for the DPO, who answers within the month.
"""

from __future__ import annotations

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import Channel
from sender.config import Settings
from sender.enums import RequestStatus
from sender.models import Contact, RightsRequest
from sender.services.accounts import organisation
from sender.services.rights import confirmations, erasure, requests
from sender.services.rights.erasure import ErasureResult

KIND = "erasure"


def _open(session: Session, contact: Contact) -> RightsRequest | None:
    return session.scalar(
        select(RightsRequest)
        .where(
            RightsRequest.contact_id == contact.id,
            RightsRequest.kind == KIND,
            RightsRequest.status == RequestStatus.OPEN,
        )
        .order_by(RightsRequest.id)
        .limit(1)
    )


def ask(session: Session, settings: Settings, contact: Contact, actor: str) -> Channel | None:
    """Register the request (once); returns the channel its confirmation goes over, or None (the DPO answers)."""
    if _open(session, contact) is None:
        requests.open_request(session, kind=KIND, received_via="portal", actor=actor, contact=contact)
    # The organisation's saved sender counts, not only the environment's.
    return confirmations.reachable(organisation.effective_settings(session, settings), contact)


def confirm(
    session: Session, settings: Settings, contact: Contact, actor: str, redis: Redis | None
) -> ErasureResult:
    """Erase after the person confirmed from their address, and answer the open request; the caller commits."""
    pending = _open(session, contact)
    result = erasure.erase(session, settings, contact, actor=actor, redis=redis)
    outcome = "erased after confirmation from the person's own address"
    if pending is None:
        requests.record_completed(session, contact, KIND, outcome, actor)
    else:
        requests.close(session, pending, RequestStatus.COMPLETED, outcome, actor)
    return result
