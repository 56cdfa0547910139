"""Public unsubscribe and privacy-portal pages, through the Flask test client and the real database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from sender.config import Settings
from sender.enums import Channel
from sender.models import AuditEvent, ConsentEvent, Contact, Purpose
from sender.runtime import Runtime
from sender.services.consent import gate, ledger
from sender.services.consent.links import portal_token, unsubscribe_token
from sender.tokens import KINDS
from tests.factories import ContactFactory, PurposeFactory, WordingFactory


@dataclass
class World:
    """Two purposes; a contact granted both by email and the first by SMS; its signed links."""

    news: Purpose
    offers: Purpose
    contact: Contact
    unsubscribe: str
    portal: str


def _grant(session: Session, contact: Contact, purpose: Purpose, channel: str = "email") -> None:
    ledger.record(
        session, contact, purpose, channel=channel, action="grant", source="form",
        mechanism="checkbox", actor="test", wording_version=1,
    )  # fmt: skip


@pytest.fixture
def world(db_session: Session, runtime: Runtime) -> World:
    news, offers = PurposeFactory(name="Lettre d'information"), PurposeFactory(name="Offres")
    WordingFactory(purpose=news)
    WordingFactory(purpose=offers)
    contact = ContactFactory(email="camille.martin@example.org", phone="+33612345678")
    _grant(db_session, contact, news)
    _grant(db_session, contact, offers)
    _grant(db_session, contact, news, "sms")
    db_session.commit()
    token = unsubscribe_token(runtime.tokens, contact.public_id, news.id, "email", 41)
    return World(
        news, offers, contact, f"/u/{token}", f"/p/{portal_token(runtime.tokens, contact.public_id)}"
    )


def withdrawals(session: Session, contact: Contact) -> list[ConsentEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id == contact.id, ConsentEvent.action == "withdraw")
            .order_by(ConsentEvent.id)
        )
    )


def eligible(session: Session, contact: Contact, purpose: Purpose, channel: str = "email") -> bool:
    return gate.check(session, contact.id, purpose.id, channel).eligible


def assert_private(response: TestResponse) -> None:
    """The headers every public page sends, and no personal data or cookie."""
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "Location" not in response.headers
    body = response.get_data(as_text=True)
    assert "camille.martin" not in body and "612345678" not in body


def test_get_shows_the_purpose_and_changes_nothing(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    audit_before = db_session.scalar(select(func.count(AuditEvent.id)))
    response = client.get(world.unsubscribe)
    head = client.head(world.unsubscribe)

    assert response.status_code == 200 and head.status_code == 200
    assert_private(response)
    body = response.get_data(as_text=True)
    assert "Lettre d&#39;information" in body
    assert 'method="post"' in body and 'value="stop_all"' in body
    assert withdrawals(db_session, world.contact) == []
    assert db_session.scalar(select(func.count(AuditEvent.id))) == audit_before
    assert eligible(db_session, world.contact, world.news)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_withdraws_once_and_answers_200_twice(
    client: FlaskClient, db_session: Session, world: World, encoding: str
) -> None:
    def post() -> TestResponse:
        if encoding == "multipart":
            return client.post(
                world.unsubscribe, data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data"
            )
        return client.post(
            world.unsubscribe,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )

    first, second = post(), post()

    for response in (first, second):
        assert response.status_code == 200
        assert_private(response)
    (event,) = withdrawals(db_session, world.contact)
    assert (event.source, event.mechanism, event.channel, event.purpose_id) == (
        "one_click", "one_click", "email", world.news.id,
    )  # fmt: skip
    assert event.collection_point == "campaign:41"
    assert not eligible(db_session, world.contact, world.news)
    # Only the list the message came from (R29).
    assert eligible(db_session, world.contact, world.offers)
    assert eligible(db_session, world.contact, world.news, "sms")


def test_one_click_body_without_content_type_still_counts(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    response = client.post(world.unsubscribe, data=b"List-Unsubscribe=One-Click", content_type="")

    assert response.status_code == 200
    assert [e.source for e in withdrawals(db_session, world.contact)] == ["one_click"]


def test_page_button_is_recorded_as_the_unsubscribe_page(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    response = client.post(world.unsubscribe, data={"action": "unsubscribe"})

    assert response.status_code == 200
    assert_private(response)
    (event,) = withdrawals(db_session, world.contact)
    assert (event.source, event.mechanism) == ("unsubscribe_page", "link")
    assert not eligible(db_session, world.contact, world.news)


def test_stop_all_objects_to_every_purpose_on_every_channel(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    response = client.post(world.unsubscribe, data={"action": "stop_all"})

    assert response.status_code == 200
    events = withdrawals(db_session, world.contact)
    purposes = db_session.scalars(select(Purpose.id)).all()
    assert {(e.purpose_id, e.channel) for e in events} == {(p, ch) for p in purposes for ch in Channel}
    assert {(e.source, e.mechanism) for e in events} == {("unsubscribe_page", "objection")}
    assert not any(eligible(db_session, world.contact, p, ch) for p in (world.news, world.offers)
                   for ch in Channel)  # fmt: skip


def test_restricted_contact_can_still_unsubscribe(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    world.contact.status = "restricted"
    db_session.commit()

    assert client.post(world.unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert len(withdrawals(db_session, world.contact)) == 1


def _signed_long_ago(settings: Settings, payload: dict[str, Any], years: float) -> str:
    class OldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - years * 365 * 24 * 3600)

    serializer = URLSafeTimedSerializer(
        list(settings.secret_keys), salt=KINDS["unsubscribe"].salt, signer=OldSigner
    )
    return str(serializer.dumps(payload))


def test_unsubscribe_links_never_expire(
    client: FlaskClient, db_session: Session, settings: Settings, world: World
) -> None:
    payload = {"c": world.contact.public_id, "p": world.news.id, "ch": "email", "k": None}
    token = _signed_long_ago(settings, payload, years=3)

    response = client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert len(withdrawals(db_session, world.contact)) == 1


def test_every_bad_link_gets_the_same_answer(
    client: FlaskClient, db_session: Session, runtime: Runtime, world: World
) -> None:
    tokens = runtime.tokens
    good = world.unsubscribe.removeprefix("/u/")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    erased = ContactFactory(status="erased", email=None, email_hash=None)
    db_session.commit()
    bad_links = [
        f"/u/{tampered}",
        "/u/not-a-token",
        f"/u/{portal_token(tokens, world.contact.public_id)}",  # right signature, wrong kind
        f"/u/{unsubscribe_token(tokens, 'nobody-has-this-id', world.news.id, 'email', None)}",
        f"/u/{unsubscribe_token(tokens, world.contact.public_id, 999_999, 'email', None)}",
        f"/u/{unsubscribe_token(tokens, world.contact.public_id, world.news.id, 'fax', None)}",
        f"/u/{unsubscribe_token(tokens, erased.public_id, world.news.id, 'email', None)}",
    ]
    responses = []
    for path in bad_links:
        responses.append(client.get(path))
        responses.append(client.post(path, data={"List-Unsubscribe": "One-Click"}))
        responses.append(client.post(path, data={"action": "stop_all"}))

    bodies = {r.get_data() for r in responses}
    assert len(bodies) == 1
    assert {r.status_code for r in responses} == {404}
    for response in responses:
        assert_private(response)
    assert withdrawals(db_session, world.contact) == []
