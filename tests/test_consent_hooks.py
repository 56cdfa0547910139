"""Every writer of the consent ledger sets off the same hooks: an import with proof enrols and tells."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.enums import WebhookEvent
from sender.models import Enrolment, OutgoingEvent, WebhookDelivery, WebhookEndpoint
from sender.services.sequences import build, states
from sender.services.sequences.schema import SequenceInput
from tests.campaign_helpers import grant
from tests.factories import ContactFactory
from tests.import_helpers import contact, csv_bytes, newsletter, proof, run

STEP = {"subject": "Welcome", "body_html": "<p>Welcome</p>", "body_text_derived": True}


def test_an_import_with_proof_enrols_into_consent_sequences_and_emits_consent_granted(
    db_session: Session, settings: Settings
) -> None:
    purpose = newsletter()
    data = SequenceInput.parse(
        {"name": "Welcome", "purpose": purpose.slug, "trigger": "consent", "steps": [STEP]}
    )
    sequence = build.save(db_session, None, data, "user:1")
    states.move(db_session, sequence, states.ACTIVATE)
    endpoint = WebhookEndpoint(
        url="https://hooks.example.org/in",
        secret="whsec_" + "A" * 32,
        events=[WebhookEvent.CONSENT_GRANTED],
        enabled=True,
        created_by="admin@example.org",
    )
    db_session.add(endpoint)
    known = ContactFactory(email="known@example.org")
    grant(db_session, known, purpose)  # enrolled by record() already: the import does not enrol twice
    db_session.commit()
    before = set(db_session.scalars(select(OutgoingEvent.id)))

    run(
        db_session,
        settings,
        csv_bytes("email", "ana@example.org", "bo@example.org", "known@example.org"),
        data=proof(purpose),
    )

    people = [contact(db_session, email) for email in ("ana@example.org", "bo@example.org")]
    ids = {person.id for person in people if person is not None}
    assert len(ids) == 2
    enrolled = db_session.execute(select(Enrolment.contact_id, Enrolment.status)).all()
    assert sorted(enrolled) == sorted([(known.id, "active"), *((i, "active") for i in ids)])
    told = db_session.scalars(select(OutgoingEvent).where(OutgoingEvent.id.not_in(before))).all()
    assert {e.contact_id for e in told} == {*ids, known.id}
    assert {e.event_type for e in told} == {"consent.granted"}
    assert all(e.payload["purpose"] == purpose.slug and e.payload["channel"] == "email" for e in told)
    deliveries = db_session.scalars(
        select(WebhookDelivery.event_id).where(WebhookDelivery.endpoint_id == endpoint.id)
    ).all()
    assert set(deliveries) >= {e.id for e in told}
