"""Rights exercised in the portal through HTTP: access report, export, rectification, restriction, erasure."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from sender.enums import Channel
from sender.models import AuditEvent, Contact, Delivery, RightsRequest, Suppression
from sender.runtime import Runtime
from sender.services.consent import gate
from sender.services.consent.links import portal_token
from sender.services.messages import system_email
from sender.services.rights.export import SCHEMA
from tests.factories import CampaignFactory, ContactFactory
from tests.public.conftest import (
    CommitFailed,
    Portal,
    World,
    body_of,
    confirm_erasure,
    fail_commits,
    link_in,
    outbox,
    run_jobs,
)


def _requests(session: Session, contact: Contact) -> list[tuple[str, str, str]]:
    rows = session.scalars(select(RightsRequest).where(RightsRequest.contact_id == contact.id))
    return [(r.kind, r.received_via, r.status) for r in rows]


def test_access_report_has_every_section_of_r40(portal: Portal, db_session: Session, world: World) -> None:
    response = portal.act("report")

    assert response.status_code == 200
    html = portal.html
    for section in (
        "Responsable du traitement", "Vos données", "Vos accords", "Finalités", "Catégories de données",
        "Destinataires et sous-traitants", "Transferts hors de l", "Durée de conservation",
        "Origine des données", "Décisions automatisées", "Vos droits", "Réclamation",
    ):  # fmt: skip
        assert section in html, section
    assert "camille.martin@example.org" in html
    assert "Brevo SAS (France)" in html  # a processor from the register
    assert "cnil.fr" in html
    assert ("access", "portal", "completed") in _requests(db_session, world.contact)


def test_report_names_twilio_with_country_and_safeguards_for_a_phone(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    contact = ContactFactory(email="sms.person@example.org", phone="+33612345678")
    db_session.commit()
    person = Portal(client, f"/p/{portal_token(runtime.tokens, contact.public_id)}")
    assert "SMS" in person.html  # a phone on file: the SMS column appears
    person.act("report")
    assert "Twilio Inc." in person.html and "United States" in person.html
    assert "Binding Corporate Rules" in person.html


def test_export_json_validates_against_the_published_schema(
    client: FlaskClient, portal: Portal, db_session: Session, world: World
) -> None:
    response = portal.act("export_json")

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data(as_text=True))
    published = client.get("/schemas/export-v1.json").get_json()
    assert published == SCHEMA
    Draft202012Validator(published).validate(document)
    assert document["personal_data"]["email"] == "camille.martin@example.org"
    assert document["consents"][0]["wording_text"] == "Oui, envoyez-moi la lettre mensuelle."
    assert ("portability", "portal", "completed") in _requests(db_session, world.contact)


def test_export_csv_parses_with_headers(portal: Portal) -> None:
    response = portal.act("export_csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert {"record", "field", "value"} <= set(rows[0])
    assert {"record": "contact", "field": "email", "value": "camille.martin@example.org"}.items() <= rows[
        1
    ].items() or any(r["field"] == "email" and r["value"] == "camille.martin@example.org" for r in rows)
    assert any(r["record"] == "consent" and r["purpose"] == "news" for r in rows)


def test_rectification_reaches_pending_deliveries_and_is_recorded(
    portal: Portal, db_session: Session, world: World
) -> None:
    campaign = CampaignFactory(purpose_id=world.news.id)
    delivery = Delivery(campaign_id=campaign.id, contact_id=world.contact.id, status="queued")
    db_session.add(delivery)
    db_session.commit()

    response = portal.act(
        "rectify", first_name="Camila", last_name="Martin", email="camila.martin@example.org", locale="en"
    )

    assert response.status_code == 200
    db_session.expire_all()
    contact = db_session.get(Contact, world.contact.id)
    assert contact is not None
    # The new email waits for its confirmation from that address; the rest applies at once.
    assert (contact.first_name, contact.email, contact.locale) == (
        "Camila",
        "camille.martin@example.org",
        "en",
    )
    # Deliveries are rendered from the contact row when claimed: the queued one will carry the new data.
    assert db_session.get(Delivery, delivery.id).contact_id == contact.id  # type: ignore[union-attr]
    assert "Saved. We sent a link to your new address" in portal.html  # now in the corrected language
    notified = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "rights.rectification_notified")
    )
    assert notified is not None and notified.details["fields"] == ["first_name", "locale"]
    assert "Brevo SAS (France)" in notified.details["recipients"]


def test_restriction_stops_sends_and_lifting_tells_the_person_first(
    portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    portal.act("restrict")
    assert gate.check(db_session, world.contact.id, world.news.id, "email").reason == "restricted"
    assert "Lever la limitation" in portal.html

    portal.act("lift_restriction")
    assert gate.check(db_session, world.contact.id, world.news.id, "email").eligible
    (notice,) = outbox(runtime)
    assert notice["To"] == "camille.martin@example.org" and "limitation" in body_of(notice)
    actions = [
        a
        for a in db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
        if a.startswith("rights.restrict")
    ]
    assert actions == ["rights.restrict", "rights.restriction_notice", "rights.restriction_lift"]


def _every_value(session: Session) -> list[tuple[str, str]]:
    """Every text value in every table, as (table, value)."""
    found = []
    for table in inspect(session.get_bind()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 (table names from the schema)
            found.extend((table, str(value)) for value in row if value is not None)
    return found


def test_erasure_leaves_only_the_keyed_hash(
    app: Flask,
    client: FlaskClient,
    runtime: Runtime,
    db_session: Session,
    world: World,
    api_headers: dict[str, str],
) -> None:
    contact = ContactFactory(
        email="jeanne.dupont@example.org", phone="+33698765432", first_name="Jeannette", last_name="Dupontel"
    )
    campaign = CampaignFactory(purpose_id=world.news.id)
    db_session.add(Delivery(campaign_id=campaign.id, contact_id=contact.id, status="queued"))
    earlier = CampaignFactory(purpose_id=world.news.id)
    db_session.add(Delivery(campaign_id=earlier.id, contact_id=contact.id, status="failed",
                            last_error="550 5.1.1 <jeanne.dupont@example.org> unknown"))  # fmt: skip
    db_session.commit()
    # A job record in Redis that quotes the address (a provider error kept by RQ).
    runtime.redis.hset("rq:job:test-failed", mapping={"exc_info": "550 <jeanne.dupont@example.org>"})
    person = Portal(client, f"/p/{portal_token(runtime.tokens, contact.public_id)}")
    hashes = (contact.email_hash, contact.phone_hash)

    assert person.act("erase", confirm="yes").status_code == 200
    response = confirm_erasure(app, client, runtime, "jeanne.dupont@example.org")

    assert response.status_code == 200
    # The notice of erasure went out to the address it held.
    _, done = outbox(runtime)
    assert done["To"] == "jeanne.dupont@example.org" and "/erase/" not in body_of(done)
    db_session.expire_all()
    needles = ("jeanne.dupont", "698765432", "Jeannette", "Dupontel")
    leftovers = [
        (table, value) for table, value in _every_value(db_session) if any(n in value for n in needles)
    ]
    assert leftovers == []
    for key in runtime.redis.scan_iter():
        value = runtime.redis.dump(key) or b""
        assert not any(n.encode() in key or n.encode() in value for n in needles), key
    suppressed = db_session.scalars(select(Suppression).where(Suppression.address_hash.in_(hashes))).all()
    assert {(s.channel, s.reason) for s in suppressed} == {(channel, "erasure") for channel in Channel}
    # The pending message is skipped, and the campaign's counts still add up.
    pending = select(Delivery.status, Delivery.reason).where(Delivery.campaign_id == campaign.id)
    assert db_session.execute(pending.where(Delivery.contact_id == contact.id)).one() == ("skipped", "erased")
    # The contact cannot come back through the API.
    again = client.post("/api/v1/contacts", json={"email": "Jeanne.Dupont@example.org"}, headers=api_headers)
    assert again.status_code == 409
    # The erasure is in the register; the spent link opens nothing any more.
    assert client.get(f"/p/{portal_token(runtime.tokens, contact.public_id)}").status_code == 410
    assert (
        db_session.scalar(select(RightsRequest.kind).where(RightsRequest.contact_id == contact.id))
        == "erasure"
    )


def test_the_erasure_notice_leaves_once_the_erasure_is_committed(
    app: Flask,
    client: FlaskClient,
    portal: Portal,
    runtime: Runtime,
    connection: Any,
    db_session: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Any, ...]] = []
    send = system_email.send

    def watched(settings: Any, message: Any) -> Any:
        # While the message goes out: is the request's transaction (here a savepoint) still open, and what
        # does the database hold?
        still_open = connection.in_nested_transaction()
        email = db_session.scalar(select(Contact.email).where(Contact.id == world.contact.id))
        seen.append((still_open, email))
        return send(settings, message)

    assert portal.act("erase", confirm="yes").status_code == 200
    run_jobs(app, runtime)
    (asked,) = outbox(runtime)
    link = link_in(asked, "/erase/")
    monkeypatch.setattr(system_email, "send", watched)

    assert client.post(link).status_code == 200

    # The request's transaction was over and the address already gone from the database.
    assert seen == [(False, None)]
    _, confirmation = outbox(runtime)
    assert confirmation["To"] == "camille.martin@example.org"


def test_an_erasure_whose_commit_fails_erases_nothing_and_sends_nothing(
    app: Flask, client: FlaskClient, portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    portal.act("erase", confirm="yes")
    run_jobs(app, runtime)
    (asked,) = outbox(runtime)
    fail_commits(runtime)

    with pytest.raises(CommitFailed):
        client.post(link_in(asked, "/erase/"))

    assert len(outbox(runtime)) == 1  # the confirmation link only: no notice of erasure
    db_session.expire_all()
    assert db_session.scalar(select(Contact.email).where(Contact.id == world.contact.id)) == (
        "camille.martin@example.org"
    )


def test_a_correction_to_someone_elses_address_says_nothing_about_it(
    portal: Portal, db_session: Session, world: World
) -> None:
    ContactFactory(email="taken@example.org")
    db_session.commit()

    taken = portal.act("rectify", email="taken@example.org")
    free = portal.act("rectify", email="not-an-address")

    assert taken.status_code == 400 and free.status_code == 400
    assert "taken@example.org" not in portal.html.split("<h2>")[0]
    assert "another contact" not in taken.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Contact, world.contact.id).email == "camille.martin@example.org"  # type: ignore[union-attr]
