"""Entering by segment and by date field: `sequences.run` enrols once, plans the due step with the gate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ContactTag, Delivery, Enrolment, Segment
from sender.runtime import Runtime
from sender.services.sequences import build, run, states
from sender.services.sequences.schema import SequenceInput
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

STEP = {"subject": "Hello", "body_html": "<p>Hello</p>", "body_text_derived": True}
# 10:00 UTC is 11:00 in Paris: the organisation's day is 2027-01-15.
NOW = datetime(2027, 1, 15, 10, 0)


def _active(session: Session, **trigger: Any) -> int:
    data = SequenceInput.parse({"name": "S", "purpose": "renewals", "steps": [STEP], **trigger})
    sequence = build.save(session, None, data, "user:1")
    states.move(session, sequence, states.ACTIVATE)
    return sequence.id


def test_a_date_field_and_a_segment_enrol_once_and_the_gate_decides_each_step(
    db_session: Session, runtime: Runtime, redis_conn: Any
) -> None:
    purpose = PurposeFactory(slug="renewals")
    WordingFactory(purpose=purpose)
    due = ContactFactory(attributes={"renewal": "2027-01-15"})
    later = ContactFactory(attributes={"renewal": "2027-02-01"})
    silent = ContactFactory(attributes={"renewal": "2027-01-15"})  # no consent: skipped, and out
    for person in (due, later):
        grant(db_session, person, purpose)
    vip = ContactFactory()
    grant(db_session, vip, purpose)
    segment = Segment(name="VIP", rules={"groups": [{"tags": ["vip"]}]})
    db_session.add(segment)
    db_session.flush()

    db_session.add(ContactTag(contact_id=vip.id, tag="vip"))
    by_date = _active(db_session, trigger="date", trigger_field="renewal")
    by_segment = _active(db_session, trigger="segment", trigger_segment_id=segment.id)
    db_session.commit()

    first = run.run(runtime, now=NOW)
    assert (first.entered, first.planned, first.skipped, first.completed) == (3, 2, 1, 2)
    db_session.expire_all()
    rows = db_session.execute(
        select(Enrolment.sequence_id, Enrolment.contact_id, Enrolment.status, Enrolment.exit_reason)
    ).all()
    assert sorted(rows) == sorted(
        [
            (by_date, due.id, "completed", None),
            (by_date, silent.id, "exited", "refused"),
            (by_segment, vip.id, "completed", None),
        ]
    )
    skipped = db_session.scalar(select(Delivery.reason).where(Delivery.contact_id == silent.id))
    assert skipped == "no_consent"
    # Later the same day, and the next day: nobody enters again.
    assert run.run(runtime, now=NOW.replace(hour=20)).entered == 0
    assert run.run(runtime, now=NOW.replace(day=16)).entered == 0
