"""The portal's decisions live in the services (issue 16): the confirmation channel of a grant under double
opt-in (portal_grants) and the register's record of a rectification (rectification.from_portal)."""

from __future__ import annotations

import html

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ConsentEvent, OrganisationSettings, RightsRequest
from sender.runtime import Runtime
from sender.services.consent.links import portal_token
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World, give_phone, outbox, run_jobs


def test_a_grant_whose_confirmation_cannot_leave_is_refused_in_the_person_language(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    # SMS is not configured here: a confirmation by SMS could not leave, so nothing is recorded.
    give_phone(db_session, runtime, world.contact, "+33612345678")
    portal = Portal(client, f"/p/{portal_token(runtime.tokens, world.contact.public_id)}")
    before = db_session.scalars(select(ConsentEvent)).all()

    refused = portal.act("grant", purpose=str(world.offers.id), channel="sms", wording_version="1")

    assert refused.status_code == 400
    page = html.unescape(portal.html)
    assert "nous ne pouvons pas envoyer la confirmation sur ce canal" in page
    assert "we cannot send the confirmation" not in page
    db_session.expire_all()
    assert db_session.scalars(select(ConsentEvent)).all() == before


def test_a_rectification_in_the_portal_is_in_the_register_with_what_it_did(
    portal: Portal, db_session: Session, world: World
) -> None:
    portal.act("rectify", first_name="Camila", last_name="Martin", email="camila.martin@example.org")

    db_session.expire_all()
    (recorded,) = db_session.scalars(
        select(RightsRequest).where(RightsRequest.contact_id == world.contact.id)
    ).all()
    assert (recorded.kind, recorded.received_via, recorded.status) == ("rectification", "portal", "completed")
    assert recorded.outcome == ("corrected: first_name; awaiting confirmation from the new address: email")


def test_system_mail_to_a_person_without_a_language_speaks_the_organisation_language(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session
) -> None:
    # The organisation chose English on its settings page (DEFAULT_LOCALE stays French): one rule for all
    # messages, the person's language, else the campaign's, else the organisation's.
    db_session.add(OrganisationSettings(id=1, default_locale="en"))
    ContactFactory(email="lee@example.org", locale=None)
    db_session.commit()
    assert runtime.settings.default_locale == "fr"

    assert client.post("/access", data={"email": "lee@example.org"}).status_code == 200
    assert run_jobs(app, runtime) == 1

    (mail,) = outbox(runtime)
    assert mail["Subject"].startswith("Your privacy space at ")
