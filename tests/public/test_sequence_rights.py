"""A person's sequences in the portal: listed in the access report, erased with them."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Enrolment
from sender.runtime import Runtime
from sender.services.consent.links import portal_token
from sender.services.sequences import build, states
from sender.services.sequences.schema import SequenceInput
from tests.campaign_helpers import grant
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World, confirm_erasure

STEP = {"subject": "Bienvenue", "body_html": "<p>Bienvenue</p>", "body_text_derived": True}


def _welcome(session: Session, world: World) -> int:
    data = SequenceInput.parse(
        {"name": "Série de bienvenue", "purpose": "news", "trigger": "consent", "steps": [STEP]}
    )
    sequence = build.save(session, None, data, "user:1")
    states.move(session, sequence, states.ACTIVATE)
    return sequence.id


def test_the_access_report_lists_the_sequences_and_erasure_deletes_them(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    _welcome(db_session, world)
    person = ContactFactory(email="jeanne.dupont@example.org")
    grant(db_session, person, world.news)
    db_session.commit()
    assert db_session.scalar(select(Enrolment.status).where(Enrolment.contact_id == person.id)) == "active"

    portal = Portal(client, f"/p/{portal_token(runtime.tokens, person.public_id)}")
    assert portal.act("report").status_code == 200
    assert "Vos séquences de messages" in portal.html and "Série de bienvenue" in portal.html
    assert "Dans la séquence" in portal.html

    assert portal.act("erase", confirm="yes").status_code == 200
    assert confirm_erasure(app, client, runtime, "jeanne.dupont@example.org").status_code == 200
    db_session.expire_all()
    assert db_session.scalars(select(Enrolment).where(Enrolment.contact_id == person.id)).all() == []
