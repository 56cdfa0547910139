"""Confirmations through the person's own address (issue 15 items 1 and 5): an erasure asked in the portal
happens only once confirmed with the link sent to the person, and a corrected address is used only once it
is confirmed from that address; until then the old one stays in use."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import AddressChange, Contact, RightsRequest
from sender.runtime import Runtime
from sender.services.consent import gate
from sender.services.consent.links import portal_token
from tests.public.conftest import Portal, World, body_of, give_phone, link_in, outbox, run_jobs, send_campaign


def _contact(session: Session, contact_id: int) -> Contact:
    session.expire_all()
    contact = session.get(Contact, contact_id)
    assert contact is not None
    return contact


def test_erasure_waits_for_the_link_mailed_to_the_person(
    app: Flask, client: FlaskClient, portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    asked = portal.act("erase", confirm="yes")

    assert asked.status_code == 200
    assert "Rien n'est encore effacé" in portal.html
    contact = _contact(db_session, world.contact.id)
    assert (contact.status, contact.email) == ("active", "camille.martin@example.org")
    registered = db_session.scalars(select(RightsRequest).where(RightsRequest.contact_id == contact.id)).all()
    assert [(r.kind, r.status) for r in registered] == [("erasure", "open")]

    assert run_jobs(app, runtime) == 1
    (mail,) = outbox(runtime)
    assert mail["To"] == "camille.martin@example.org"
    assert "List-Unsubscribe" not in mail and mail["Auto-Submitted"] == "auto-generated"
    link = link_in(mail, "/erase/")
    # Opening the link (a mail scanner does) changes nothing: the button does.
    page = client.get(link)
    assert page.status_code == 200 and "Oui, effacer mes données" in page.get_data(as_text=True)
    assert _contact(db_session, world.contact.id).status == "active"

    done = client.post(link)

    assert done.status_code == 200 and "Vos données sont effacées" in done.get_data(as_text=True)
    contact = _contact(db_session, world.contact.id)
    assert (contact.status, contact.email) == ("erased", None)
    registered = db_session.scalars(select(RightsRequest).where(RightsRequest.contact_id == contact.id)).all()
    assert [(r.kind, r.status) for r in registered] == [("erasure", "completed")]
    # The notice of erasure went to the address it held; the link acts once.
    _, notice = outbox(runtime)
    assert notice["To"] == "camille.martin@example.org" and "/erase/" not in body_of(notice)
    assert client.post(link).status_code == 410


def test_an_erasure_link_of_someone_else_or_expired_erases_nothing(
    app: Flask, client: FlaskClient, portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    portal.act("erase", confirm="yes")
    run_jobs(app, runtime)
    (mail,) = outbox(runtime)
    link = link_in(mail, "/erase/")
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    portal_link = f"/erase/{portal_token(runtime.tokens, world.contact.public_id)}"  # right key, wrong kind

    assert {client.post(forged).status_code, client.post(portal_link).status_code} == {410}
    assert _contact(db_session, world.contact.id).status == "active"


def test_a_new_email_is_used_only_once_confirmed_from_it(
    app: Flask,
    client: FlaskClient,
    portal: Portal,
    runtime: Runtime,
    db_session: Session,
    world: World,
    api_headers: dict[str, str],
) -> None:
    response = portal.act("rectify", email="third-party@example.net", phone="")

    assert response.status_code == 200
    assert "Nous avons envoyé un lien à votre nouvelle adresse" in portal.html
    assert _contact(db_session, world.contact.id).email == "camille.martin@example.org"
    # A campaign sent now reaches the old address only.
    (message,) = send_campaign(app, client, runtime, api_headers, world.news, world.contact)
    assert message["To"] == "camille.martin@example.org"

    # The confirmation goes to the new address, and only there.
    assert run_jobs(app, runtime) == 1
    confirmation = outbox(runtime)[-1]
    assert confirmation["To"] == "third-party@example.net"
    link = link_in(confirmation, "/address/")
    shown = client.get(link)
    assert shown.status_code == 200 and "third-party" not in shown.get_data(as_text=True)
    assert _contact(db_session, world.contact.id).email == "camille.martin@example.org"

    assert client.post(link).status_code == 200

    assert _contact(db_session, world.contact.id).email == "third-party@example.net"
    assert db_session.scalars(select(AddressChange)).all() == []
    (after,) = send_campaign(app, client, runtime, api_headers, world.news, world.contact)
    assert after["To"] == "third-party@example.net"
    assert client.post(link).status_code == 410


def test_a_newer_correction_voids_the_older_link(
    app: Flask, client: FlaskClient, portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    portal.act("rectify", email="first@example.net")
    run_jobs(app, runtime)
    portal.act("rectify", email="second@example.net")
    run_jobs(app, runtime)
    first, second = outbox(runtime)
    assert (first["To"], second["To"]) == ("first@example.net", "second@example.net")

    assert client.post(link_in(first, "/address/")).status_code == 410
    assert _contact(db_session, world.contact.id).email == "camille.martin@example.org"
    assert client.post(link_in(second, "/address/")).status_code == 200
    assert _contact(db_session, world.contact.id).email == "second@example.net"


def test_a_new_phone_without_sms_configured_is_refused_at_the_field(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    give_phone(db_session, runtime, world.contact, "+33612345678")
    person = Portal(client, f"/p/{portal_token(runtime.tokens, world.contact.public_id)}")

    refused = person.act("rectify", phone="+33698765432")

    assert refused.status_code == 400
    assert "Téléphone : nous ne pouvons pas confirmer cette adresse" in person.html
    assert _contact(db_session, world.contact.id).phone == "+33612345678"
    assert db_session.scalars(select(AddressChange)).all() == []


def test_a_grant_by_sms_under_double_opt_in_is_refused_where_sms_is_not_configured(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    give_phone(db_session, runtime, world.contact, "+33612345678")
    person = Portal(client, f"/p/{portal_token(runtime.tokens, world.contact.public_id)}")

    refused = person.act("grant", purpose=str(world.offers.id), channel="sms", wording_version="1")

    assert refused.status_code == 400 and "channel" in person.html
    assert gate.check(db_session, world.contact.id, world.offers.id, "sms").reason == "no_consent"


def test_asking_again_sends_at_most_three_erasure_links_an_hour(
    app: Flask, client: FlaskClient, portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    for _ in range(5):
        assert portal.act("erase", confirm="yes").status_code == 200

    assert run_jobs(app, runtime) == 3
    assert [m["To"] for m in outbox(runtime)] == ["camille.martin@example.org"] * 3
    # One request in the register, however often it was asked.
    registered = db_session.scalars(
        select(RightsRequest.status).where(RightsRequest.contact_id == world.contact.id)
    )
    assert registered.all() == ["open"]
