"""Arranging consent situations for campaign tests (one contact per gate outcome)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from rq.job import Job
from sqlalchemy import update
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Campaign, Contact, ContactList, ListMember, Purpose, Suppression
from sender.services.consent import ledger
from sender.work.jobs import LaunchCampaign
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory


@dataclass
class Audience:
    """A purpose, a list and contacts in every consent situation, keyed by the expected gate reason."""

    purpose: Purpose
    lst: ContactList
    contacts: dict[str, Contact]


def grant(session: Session, contact: Contact, purpose: Purpose, channel: str = "email", **kw: object) -> None:
    """Record an affirmative grant with the purpose's first wording."""
    ledger.record(
        session,
        contact,
        purpose,
        channel=channel,
        action="grant",
        source="form",
        mechanism="checkbox",
        actor="test",
        wording_version=1,
        **kw,  # type: ignore[arg-type]
    )


def build_audience(session: Session, eligible: int = 1) -> Audience:
    """Create contacts: `eligible` granted ones plus one per refusal reason, all on one list."""
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    contacts: dict[str, Contact] = {}
    for i in range(eligible):
        c = ContactFactory()
        grant(session, c, purpose)
        contacts[f"eligible{i}"] = c
    contacts["no_consent"] = ContactFactory()
    withdrawn = ContactFactory()
    grant(session, withdrawn, purpose)
    ledger.record(
        session,
        withdrawn,
        purpose,
        channel="email",
        action="withdraw",
        source="api",
        mechanism="api",
        actor="test",
    )
    contacts["withdrawn"] = withdrawn
    expired = ContactFactory()
    grant(session, expired, purpose, at=utcnow() - timedelta(days=purpose.consent_validity_days + 1))
    contacts["expired"] = expired
    suppressed = ContactFactory()
    grant(session, suppressed, purpose)
    session.add(Suppression(address_hash=suppressed.email_hash, channel="email", reason="complaint"))
    contacts["suppressed"] = suppressed
    restricted = ContactFactory()
    grant(session, restricted, purpose)
    restricted.status = "restricted"
    contacts["restricted"] = restricted
    no_address = ContactFactory(email=None, phone="+33612345678")
    grant(session, no_address, purpose)
    contacts["no_address"] = no_address
    for c in contacts.values():
        session.add(ListMember(list_id=lst.id, contact_id=c.id))
    session.flush()
    return Audience(purpose, lst, contacts)


def let_time_pass_until_due(stack: Any, campaign_id: int, overdue_by: int = 0) -> None:
    """The tests' clock: move a scheduled launch (its row and RQ's delayed job) into the past, as time would."""
    due = utcnow() - timedelta(seconds=overdue_by + 1)
    stack.session.execute(update(Campaign).where(Campaign.id == campaign_id).values(scheduled_at=due))
    stack.session.commit()
    launch = LaunchCampaign(campaign_id, "email")
    queue = stack.runtime.queue(launch.queue)
    job_id = launch.job_id
    if job_id in queue.scheduled_job_registry:  # absent when Redis was down at scheduling time
        job = Job.fetch(job_id, connection=stack.runtime.redis, serializer=queue.serializer)
        queue.scheduled_job_registry.schedule(job, due.replace(tzinfo=UTC))
