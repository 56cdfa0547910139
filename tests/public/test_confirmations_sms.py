"""Confirmations by SMS where SMS is configured (issue 15 items 1 and 5): a phone-only person confirms an
erasure, a corrected phone number is confirmed, and a grant by SMS under double opt-in counts, through a
link texted to that number (Twilio stand-in)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from sender.channels.base import get_channel
from sender.channels.sms.channel import SmsChannel
from sender.config import Settings
from sender.models import ConsentEvent, Contact
from sender.runtime import Runtime
from sender.services.consent import gate
from sender.services.consent.links import portal_token
from sender.services.rights import confirmations
from sender.tokens import TokenService
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World, give_phone, outbox, run_jobs
from tests.queues import QueuedRuntime
from tests.sms_fixtures import twilio, with_sms
from tests.twilio_server import TwilioTestServer

__all__ = ["twilio"]


@pytest.fixture
def runtime(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    redis_conn: Any,
    twilio: TwilioTestServer,
) -> Runtime:
    """The public pages' runtime, with Twilio pointed at the stand-in."""
    tuned = with_sms(settings, twilio).with_overrides(instance_path=tmp_path)
    return QueuedRuntime(
        settings=tuned, engine=engine, Session=session_factory, tokens=TokenService(tuned.secret_keys)
    )


def _texted_link(twilio: TwilioTestServer, to: str, prefix: str) -> str:
    (sms,) = [m for m in twilio.received if m.to == to]
    found = re.search(rf"https://sender\.test({re.escape(prefix)}[A-Za-z0-9_\-.]+)", sms.body)
    assert found, sms.body
    return found.group(1)


def test_a_phone_only_person_confirms_the_erasure_by_sms(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, twilio: TwilioTestServer
) -> None:
    person = ContactFactory(email=None, email_hash=None, phone="+33612345678")
    db_session.commit()
    portal = Portal(client, f"/p/{portal_token(runtime.tokens, person.public_id)}")

    portal.act("erase", confirm="yes")
    assert "Rien n'est encore effacé" in portal.html and "SMS" in portal.html
    run_jobs(app, runtime)
    link = _texted_link(twilio, "+33612345678", "/erase/")
    db_session.expire_all()
    assert db_session.get(Contact, person.id).status == "active"  # type: ignore[union-attr]

    assert client.post(link).status_code == 200

    db_session.expire_all()
    erased = db_session.get(Contact, person.id)
    assert erased is not None and (erased.status, erased.phone) == ("erased", None)
    assert outbox(runtime) == []


def test_a_new_phone_is_used_only_once_confirmed_by_sms(
    app: Flask,
    client: FlaskClient,
    runtime: Runtime,
    db_session: Session,
    world: World,
    twilio: TwilioTestServer,
) -> None:
    give_phone(db_session, runtime, world.contact, "+33612345678")
    portal = Portal(client, f"/p/{portal_token(runtime.tokens, world.contact.public_id)}")

    assert portal.act("rectify", phone="06 98 76 54 32").status_code == 200
    run_jobs(app, runtime)
    link = _texted_link(twilio, "+33698765432", "/address/")
    db_session.expire_all()
    assert db_session.get(Contact, world.contact.id).phone == "+33612345678"  # type: ignore[union-attr]

    assert client.post(link).status_code == 200

    db_session.expire_all()
    assert db_session.get(Contact, world.contact.id).phone == "+33698765432"  # type: ignore[union-attr]


def test_a_portal_grant_by_sms_under_double_opt_in_waits_for_the_texted_link(
    app: Flask,
    client: FlaskClient,
    runtime: Runtime,
    db_session: Session,
    world: World,
    twilio: TwilioTestServer,
) -> None:
    give_phone(db_session, runtime, world.contact, "+33612345678")
    portal = Portal(client, f"/p/{portal_token(runtime.tokens, world.contact.public_id)}")

    granted = portal.act("grant", purpose=str(world.offers.id), channel="sms", wording_version="1")

    assert granted.status_code == 200 and "Presque fini" in portal.html
    assert gate.check(db_session, world.contact.id, world.offers.id, "sms").reason == "pending_confirmation"
    run_jobs(app, runtime)
    link = _texted_link(twilio, "+33612345678", "/signup/confirm/")
    assert outbox(runtime) == []

    assert client.post(link).status_code == 200

    db_session.expire_all()
    assert gate.check(db_session, world.contact.id, world.offers.id, "sms").eligible
    # The email channel was not asked, and stays without agreement.
    assert gate.check(db_session, world.contact.id, world.offers.id, "email").reason == "no_consent"
    last = db_session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert last is not None and (last.channel, last.mechanism) == ("sms", "double_opt_in")


class _Unwritten(SmsChannel):
    """A configured channel on the phone columns for which no confirmation message is written."""

    name = "unwritten"


def test_a_channel_without_a_confirmation_message_of_its_own_is_never_chosen(
    settings: Settings, twilio: TwilioTestServer
) -> None:
    configured = with_sms(settings, twilio)
    assert confirmations.usable(configured, get_channel("sms"))
    assert _Unwritten().missing_settings(configured) == {}
    assert not confirmations.usable(configured, _Unwritten())
