"""Fixtures for the public pages: a per-test outbox, jobs run by a real RQ worker in this process, a world."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from sender.addresses import address_hash
from sender.config import Settings
from sender.models import ConsentWording, Contact, Purpose
from sender.runtime import Runtime
from sender.services.consent import ledger
from sender.services.consent.links import portal_token
from sender.tasks.worker import PromptCommandListenerStop
from sender.tokens import TokenService
from tests.factories import ContactFactory, PurposeFactory, WordingFactory
from tests.queues import QueuedRuntime

TOKEN_FIELD = re.compile(r'name="token" value="([^"]+)"')


class InProcessWorker(PromptCommandListenerStop, SimpleWorker):
    """RQ's in-process worker, whose teardown stops its command listener at once, as sender's worker does."""


@pytest.fixture
def runtime(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    redis_conn: Any,
) -> Runtime:
    """The test runtime, with its own instance folder (outbox) and an emptied Redis (queues, rate limits)."""
    return QueuedRuntime(
        settings=settings.with_overrides(instance_path=tmp_path),
        engine=engine,
        Session=session_factory,
        tokens=TokenService(settings.secret_keys),
    )


def run_jobs(app: Flask, runtime: Runtime, *names: str) -> int:
    """Run every job queued on `names` (default: "default") with RQ's in-process worker; returns how many ran."""
    queues = [runtime.queue(name) for name in names or ("default",)]
    count = sum(queue.count for queue in queues)
    with app.app_context():
        InProcessWorker(queues, connection=runtime.redis, serializer=JSONSerializer).work(burst=True)
    return count


def send_campaign(
    app: Flask,
    client: FlaskClient,
    runtime: Runtime,
    headers: dict[str, str],
    purpose: Purpose,
    contact: Contact,
) -> list[EmailMessage]:
    """Send an email campaign of `purpose` to a list holding `contact` through the API and the worker.

    Returns the messages the campaign put in the outbox.
    """
    before = len(outbox(runtime))
    members = client.post("/api/v1/lists", json={"name": f"list-{before}"}, headers=headers)
    assert members.status_code == 201, members.get_json()
    list_id = members.get_json()["id"]
    added = client.post(
        f"/api/v1/lists/{list_id}/members", json={"contact_ids": [contact.public_id]}, headers=headers
    )
    assert added.status_code < 300, added.get_json()
    created = client.post("/api/v1/campaigns", json={
        "name": f"News {before}", "purpose": purpose.slug, "lists": [list_id],
        "subject": "News", "body_text": "Hello {{ contact.first_name }}",
    }, headers=headers)  # fmt: skip
    assert created.status_code == 201, created.get_json()
    sent = client.post(f"/api/v1/campaigns/{created.get_json()['id']}/send", headers=headers)
    assert sent.status_code < 300, sent.get_json()
    run_jobs(app, runtime, "email")
    return outbox(runtime)[before:]


class CommitFailed(Exception):
    """The database refused a commit (a stand-in for a lost connection or a serialization failure)."""


def fail_commits(runtime: Runtime) -> None:
    """Make every later commit of the runtime's sessions fail, as a database that refuses it would."""

    def refuse(session: Session) -> None:
        if not session.in_nested_transaction():  # a savepoint (a spent token, say) is not the unit's commit
            raise CommitFailed()

    event.listen(runtime.Session, "before_commit", refuse)


def outbox(runtime: Runtime) -> list[EmailMessage]:
    """Messages written to the outbox, oldest first."""
    folder = runtime.settings.outbox_path
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [message_from_bytes(f.read_bytes(), policy=default) for f in files]  # type: ignore[misc]


def body_of(message: EmailMessage) -> str:
    """The plain-text body of a message."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, prefix: str) -> str:
    """The path of the first link under `prefix` (e.g. /p/) in a message's text."""
    found = re.search(rf"https://sender\.test({re.escape(prefix)}[A-Za-z0-9_\-.]+)", body_of(message))
    assert found, body_of(message)
    return found.group(1)


def refusal(response: TestResponse) -> str:
    """The refusal page without the token it echoes in its renewal form: the same for every bad link."""
    return TOKEN_FIELD.sub('name="token" value=""', response.get_data(as_text=True))


def private(response: TestResponse) -> None:
    """Headers every token page sends, and no cookie."""
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def give_phone(session: Session, runtime: Runtime, contact: Contact, phone: str) -> None:
    """Give a contact a phone number (and its keyed hash, as the contacts service would), committed."""
    contact.phone, contact.phone_hash = phone, address_hash(runtime.settings.hash_key, phone)
    session.commit()


def confirm_erasure(app: Flask, client: FlaskClient, runtime: Runtime, to: str) -> TestResponse:
    """Follow the erasure confirmation mailed to `to`: its page, then its button."""
    run_jobs(app, runtime)
    (asked,) = [m for m in outbox(runtime) if m["To"] == to and "/erase/" in body_of(m)]
    link = link_in(asked, "/erase/")
    assert client.get(link).status_code == 200
    return client.post(link)


class Portal:
    """A person's browser in the privacy portal: every form carries its own single-use token."""

    def __init__(self, client: FlaskClient, link: str) -> None:
        self.client = client
        landing = client.get(link)
        assert landing.status_code == 200, landing.get_data(as_text=True)
        self.tokens = TOKEN_FIELD.findall(landing.get_data(as_text=True))
        self.last = self.act("open")
        assert self.last.status_code == 200

    def act(self, action: str, **fields: Any) -> TestResponse:
        """Submit one form of the current page."""
        token = self.tokens.pop(0)
        response = self.client.post("/portal", data={"token": token, "action": action, **fields})
        if response.mimetype == "text/html":
            found = TOKEN_FIELD.findall(response.get_data(as_text=True))
            if found:
                self.tokens = found
        self.last = response
        return response

    @property
    def html(self) -> str:
        return self.last.get_data(as_text=True)


@dataclass
class World:
    """Three purposes of the register and one person who agreed to the newsletter by email."""

    news: Purpose
    offers: Purpose
    service: Purpose
    news_wording: ConsentWording
    offers_wording: ConsentWording
    contact: Contact
    link: str


@pytest.fixture
def world(db_session: Session, runtime: Runtime) -> World:
    news = PurposeFactory(slug="news", name="Lettre d'information", processors=["Brevo SAS (France)"])
    offers = PurposeFactory(slug="offers", name="Offres partenaires", requires_double_opt_in=True)
    service = PurposeFactory(
        slug="service", name="Informations de service", legal_basis="legitimate_interest"
    )
    news_wording = WordingFactory(purpose=news, text="Oui, envoyez-moi la lettre mensuelle.")
    offers_wording = WordingFactory(purpose=offers, text="Oui, envoyez-moi les offres de vos partenaires.")
    contact = ContactFactory(email="camille.martin@example.org", first_name="Camille", last_name="Martin")
    ledger.record(
        db_session, contact, news, channel="email", action="grant", source="form",
        mechanism="checkbox", actor="test", wording_version=1,
    )  # fmt: skip
    db_session.commit()
    return World(
        news, offers, service, news_wording, offers_wording, contact,
        f"/p/{portal_token(runtime.tokens, contact.public_id)}",
    )  # fmt: skip


@pytest.fixture
def portal(client: FlaskClient, world: World) -> Iterator[Portal]:
    """The world's person, inside their portal."""
    yield Portal(client, world.link)
