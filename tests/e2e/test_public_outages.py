"""Public pages while Redis or the database is unreachable: withdrawals are recorded whatever Redis does,
every other page answers 503 with Retry-After, and nothing answers 500.

Redis is a private server this test stops for real; the database outage is a TCP proxy the test closes
(PostgreSQL) or a database file taken away (SQLite).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from sender import create_app
from sender.config import Settings
from sender.enums import ConsentStatus
from sender.models import ConsentEvent, ConsentState, Contact, Purpose
from sender.runtime import build_runtime
from sender.services.accounts import users
from sender.services.consent.links import portal_token, unsubscribe_token
from sender.tokens import TokenService
from sender.web.errors import RETRY_AFTER_SECONDS
from tests import factories
from tests.campaign_helpers import grant
from tests.db_outage import DatabaseOutage
from tests.queues import QueuedRuntime
from tests.redis_server import PrivateRedis
from tests.sms_fixtures import twilio, with_sms
from tests.twilio_server import TwilioTestServer

__all__ = ["twilio"]

PHONE = "+33612345678"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@dataclass
class Person:
    """Someone who agreed to one purpose by email and by SMS, and their links."""

    contact: Contact
    purpose: Purpose
    unsubscribe: str
    portal: str


def _person(session: Session, tokens: TokenService) -> Person:
    purpose = factories.PurposeFactory()
    factories.WordingFactory(purpose=purpose)
    contact = factories.ContactFactory(phone=PHONE)
    grant(session, contact, purpose, channel="email")
    grant(session, contact, purpose, channel="sms")
    session.commit()
    link = f"/u/{unsubscribe_token(tokens, contact.public_id, purpose.id, 'email', None)}"
    return Person(contact, purpose, link, f"/p/{portal_token(tokens, contact.public_id)}")


def _status(session: Session, person: Person, channel: str) -> str | None:
    session.expire_all()
    state = session.get(ConsentState, (person.contact.id, person.purpose.id, channel))
    return None if state is None else state.status


def _unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    # The rate limiter may push it later (to its window's end); never sooner than the outage's own delay.
    assert int(response.headers["Retry-After"]) >= RETRY_AFTER_SECONDS


# Redis stopped


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis server of this test's own, which it may stop and start again."""
    with PrivateRedis(tmp_path) as server:
        yield server


@pytest.fixture
def on_private_redis(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    redis_server: PrivateRedis,
    twilio: TwilioTestServer,
) -> FlaskClient:
    """The app on the private Redis (queues and rate limits), with Twilio configured."""
    tuned = with_sms(
        settings.with_overrides(redis_url=redis_server.url, public_rate_limit="5 per minute"), twilio
    )
    runtime = QueuedRuntime(
        settings=tuned, engine=engine, Session=session_factory, tokens=TokenService(tuned.secret_keys)
    )
    return create_app({"TESTING": True}, runtime=runtime).test_client()


def test_withdrawals_are_recorded_while_redis_is_down(
    on_private_redis: FlaskClient, redis_server: PrivateRedis, db_session: Session, twilio: TwilioTestServer
) -> None:
    client = on_private_redis
    person = _person(db_session, TokenService(_keys(client)))
    redis_server.stop()

    page = client.get(person.unsubscribe)
    one_click = client.post(person.unsubscribe, data=ONE_CLICK)
    params = twilio.inbound(PHONE, "36123", "STOP")
    stop = client.post(
        "/webhooks/twilio/inbound",
        data=params,
        headers=twilio.signed("https://sender.test/webhooks/twilio/inbound", params),
    )

    assert page.status_code == 200 and one_click.status_code == 200, one_click.get_data(as_text=True)[:500]
    assert stop.status_code == 200, stop.get_data(as_text=True)[:500]
    assert _status(db_session, person, "email") == ConsentStatus.WITHDRAWN
    assert _status(db_session, person, "sms") == ConsentStatus.WITHDRAWN


def _keys(client: FlaskClient) -> list[str]:
    app: Any = client.application
    return list(app.extensions["sender"].settings.secret_keys)


def test_other_public_pages_answer_503_with_retry_after_while_redis_is_down(
    on_private_redis: FlaskClient, redis_server: PrivateRedis, db_session: Session
) -> None:
    client = on_private_redis
    person = _person(db_session, TokenService(_keys(client)))
    contacts_before = db_session.scalar(select(func.count()).select_from(Contact))
    redis_server.stop()

    answers = {
        "GET /access": client.get("/access"),
        "POST /access": client.post("/access", data={"email": "nobody@example.org"}),
        "GET /signup": client.get("/signup"),
        "POST /signup": client.post("/signup", data={"email": "new.person@example.org"}),
        "GET /p/": client.get(person.portal),
        "POST /portal": client.post("/portal", data={"token": "forged", "action": "open"}),
        "GET /requalify/": client.get("/requalify/confirm/forged"),
        "API": client.get("/api/v1/openapi.json"),
    }

    for name, response in answers.items():
        if name == "API":
            assert response.status_code == 200, "the API is not rate-limited and reads no Redis here"
            continue
        _unavailable(response)
    assert db_session.scalar(select(func.count()).select_from(Contact)) == contacts_before
    french = client.get("/access", headers={"Accept-Language": "fr"})
    assert "Service momentanément indisponible" in french.get_data(as_text=True)
    assert 'lang="fr"' in french.get_data(as_text=True)

    redis_server.start()  # empty, as after a restart: the limits reconnect on their own
    assert client.get("/access").status_code == 200
    assert [client.get("/signup").status_code for _ in range(6)][-1] == 429


# Database unreachable


@pytest.fixture
def database_outage(tmp_path: Path, settings: Settings, committed: Any) -> Iterator[DatabaseOutage]:
    """A database the test can make unreachable and bring back (emptied by `committed` afterwards)."""
    with DatabaseOutage(settings.database_url, tmp_path) as outage:
        yield outage


def test_a_database_outage_answers_503_and_a_retried_one_click_is_recorded_once(
    database_outage: DatabaseOutage, settings: Settings
) -> None:
    moved = settings.with_overrides(database_url=database_outage.url)
    runtime = QueuedRuntime(**vars(build_runtime(moved, pool=database_outage.pooled)))
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    with runtime.Session() as session:
        factories.bind(session)
        person = _person(session, runtime.tokens)
        bearer = users.issue_token(
            session, users.create_user(session, "ops@example.org", "admin", "x" * 16)
        ).value
        session.commit()
    database_outage.cut()

    one_click = client.post(person.unsubscribe, data=ONE_CLICK)
    page = client.get(person.unsubscribe)
    portal = client.get(person.portal)
    signup = client.post("/signup", data={"email": "new.person@example.org"})
    api = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {bearer}"})
    staff = client.get("/admin/signin")
    health = client.get("/healthz")
    # A refused link's page also needs the database (its language): as served, not under test, that too is
    # a 503 (the test client would re-raise the error instead of answering it).
    served = create_app({}, runtime=runtime).test_client()
    forged = served.post("/u/forged", data=ONE_CLICK)

    for response in (one_click, page, portal, signup, api, staff, forged):
        _unavailable(response)
    assert api.get_json()["error"] == "service_unavailable"
    assert health.status_code == 503 and health.get_json()["database"] == "unavailable"

    database_outage.restore()
    retried = client.post(person.unsubscribe, data=ONE_CLICK)
    again = client.post(person.unsubscribe, data=ONE_CLICK)

    assert retried.status_code == 200 and again.status_code == 200
    with runtime.Session() as session:
        assert _status(session, person, "email") == ConsentStatus.WITHDRAWN
        withdrawals = session.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(ConsentEvent.contact_id == person.contact.id, ConsentEvent.action == "withdraw")
        )
    assert withdrawals == 1
    runtime.engine.dispose()
