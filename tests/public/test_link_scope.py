"""What each link opens (issue 15 item 1, issue 16 item 6): an unsubscribe link only unsubscribes, a message
footer's portal link opens the portal again and again within its lifetime, the link mailed in answer to the
access form opens it once, and an expired link offers a fresh one without telling whose it was."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import ConsentEvent, Contact, RightsRequest, UsedToken
from sender.runtime import Runtime
from sender.services.consent import gate
from sender.services.consent.links import unsubscribe_token
from sender.tokens import KINDS
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World, link_in, outbox, refusal, run_jobs, send_campaign

DAY = 24 * 3600


def _signed_ago(runtime: Runtime, kind: str, payload: dict[str, Any], seconds: int) -> str:
    """A token of `kind` signed `seconds` ago with the deployment's key."""

    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - seconds)

    serializer = URLSafeTimedSerializer(list(runtime.settings.secret_keys), salt=KINDS[kind].salt, signer=Old)
    return str(serializer.dumps(payload))


def _counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count(ConsentEvent.id)).where(ConsentEvent.action != "withdraw")) or 0,
        session.scalar(select(func.count(RightsRequest.id))) or 0,
        session.scalar(select(func.count(UsedToken.jti))) or 0,
    )


def test_an_old_unsubscribe_link_unsubscribes_and_opens_nothing_else(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    public_id = world.contact.public_id
    old = _signed_ago(
        runtime, "unsubscribe", {"c": public_id, "p": world.news.id, "ch": "email", "k": None}, 400 * DAY
    )
    before = _counts(db_session)

    shown = client.get(f"/u/{old}")
    done = client.post(f"/u/{old}", data={"action": "unsubscribe"})
    stop = client.post(f"/u/{old}", data={"action": "stop_all"})

    # It keeps working (R31, RFC 8058) and does what it says.
    assert (shown.status_code, done.status_code, stop.status_code) == (200, 200, 200)
    assert gate.check(db_session, world.contact.id, world.news.id, "email").reason == "suppressed"
    # Its pages carry no portal link: only the access form, which mails a link to the address on file.
    for page in (shown, done, stop):
        body = page.get_data(as_text=True)
        assert "/p/" not in body and 'href="/access"' in body
    # The unsubscribe token itself opens nothing: no export, no grant, no erasure.
    for form in (
        {"action": "open"},
        {"action": "export_json"},
        {"action": "grant", "purpose": str(world.offers.id), "channel": "email", "wording_version": "1"},
        {"action": "erase", "confirm": "yes"},
    ):
        assert client.post("/portal", data={"token": old, **form}).status_code == 410
    assert client.get(f"/p/{old}").status_code == 410
    assert client.post(f"/erase/{old}").status_code == 410
    assert _counts(db_session) == before
    db_session.expire_all()
    assert db_session.get(Contact, world.contact.id).status == "active"  # type: ignore[union-attr]


def test_one_click_with_a_400_day_old_link_still_withdraws(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    old = _signed_ago(
        runtime,
        "unsubscribe",
        {"c": world.contact.public_id, "p": world.news.id, "ch": "email", "k": None},
        400 * DAY,
    )
    response = client.post(f"/u/{old}", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200 and "/p/" not in response.get_data(as_text=True)
    assert gate.check(db_session, world.contact.id, world.news.id, "email").reason == "withdrawn"


def test_the_footer_portal_link_opens_the_portal_three_times(
    app: Flask,
    client: FlaskClient,
    runtime: Runtime,
    db_session: Session,
    world: World,
    api_headers: dict[str, str],
) -> None:
    (message,) = send_campaign(app, client, runtime, api_headers, world.news, world.contact)
    link = link_in(message, "/p/")

    for _ in range(3):
        person = Portal(client, link)
        assert "camille.martin@example.org" in person.html
    # The forms inside the portal still act once each.
    person = Portal(client, link)
    token = person.tokens[0]
    assert person.act("withdraw", purpose=str(world.news.id), channel="email").status_code == 200
    again = client.post("/portal", data={"token": token, "action": "export_json"})
    assert again.status_code == 410
    # The footer link is no key to the actions themselves: only to the portal's opening page.
    footer_token = link.removeprefix("/p/")
    assert client.post("/portal", data={"token": footer_token, "action": "export_json"}).status_code == 410
    assert (
        client.post("/portal", data={"token": footer_token, "action": "erase", "confirm": "yes"}).status_code
        == 410
    )


def test_the_footer_link_expires_after_portal_link_ttl(
    client: FlaskClient, runtime: Runtime, world: World
) -> None:
    old = _signed_ago(
        runtime, "portal", {"c": world.contact.public_id, "j": "abcdefghijkl", "m": 1},
        runtime.settings.portal_link_ttl + 60,
    )  # fmt: skip
    assert client.get(f"/p/{old}").status_code == 410
    assert client.post("/portal", data={"token": old, "action": "open"}).status_code == 410


def test_the_link_mailed_by_the_access_form_opens_once(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World
) -> None:
    client.post("/access", data={"email": "camille.martin@example.org"})
    run_jobs(app, runtime)
    (mail,) = outbox(runtime)
    link = link_in(mail, "/p/")

    Portal(client, link)

    assert client.get(link).status_code == 410
    token = link.removeprefix("/p/")
    assert client.post("/portal", data={"token": token, "action": "open"}).status_code == 410


def test_an_expired_link_offers_a_fresh_one_without_telling_whose_it_was(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    erased = ContactFactory(status="erased", email=None, email_hash=None)
    db_session.commit()
    old_payload = {"j": "abcdefghijkl", "m": 1}
    known = _signed_ago(runtime, "portal", {"c": world.contact.public_id, **old_payload}, 30 * DAY)
    candidates = [
        known,
        _signed_ago(runtime, "portal", {"c": "nobody-has-this-id", **old_payload}, 30 * DAY),
        _signed_ago(runtime, "portal", {"c": erased.public_id, **old_payload}, 30 * DAY),
        unsubscribe_token(runtime.tokens, world.contact.public_id, world.news.id, "email", None),
        "not-a-token",
    ]

    pages = [client.get(f"/p/{token}") for token in candidates]
    assert {p.status_code for p in pages} == {410}
    assert len({refusal(p) for p in pages}) == 1
    assert 'action="/portal/renew"' in pages[0].get_data(as_text=True)
    answers = [client.post("/portal/renew", data={"token": token}) for token in candidates]

    # One answer whoever the link was made for, and nothing on the page about the person.
    assert {a.status_code for a in answers} == {200}
    assert len({a.get_data() for a in answers}) == 1
    assert "camille" not in answers[0].get_data(as_text=True).lower()
    # Only the person the link was made for gets a fresh link, at their own address, and it works.
    assert run_jobs(app, runtime) == 1
    (mail,) = outbox(runtime)
    assert mail["To"] == "camille.martin@example.org"
    assert "camille.martin@example.org" in Portal(client, link_in(mail, "/p/")).html
