"""Organisation settings saved on the settings page, with no ORG_*, EMAIL_FROM or DPO_CONTACT variable, are
used by every system email, public page, the access report and SMS (issue 16.1); unset, each action refuses
at once instead of queueing a job that dies later."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from sender import create_app
from sender.config import Settings
from sender.models import Contact, RightsRequest
from sender.runtime import Runtime
from sender.services.accounts import organisation
from sender.tokens import TokenService
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World, body_of, link_in, outbox, run_jobs
from tests.queues import QueuedRuntime
from tests.sms_fixtures import SERVICE_SID, twilio, with_sms
from tests.twilio_server import TwilioTestServer

__all__ = ["twilio"]

STORED = {
    "legal_name": "Stored SAS",
    "postal_address": "2 rue Stockée, 69002 Lyon",
    "contact_email": "hello@stored.example",
    "dpo_contact": "dpo@stored.example",
    "sender_address": "news@stored.example",
    "default_locale": "fr",
    "timezone": "Europe/Paris",
}
SENDER = "sender"
PACKAGE = Path(__file__).resolve().parents[2] / SENDER
# The identity fields of Settings: as loaded they hold only the environment's overrides.
IDENTITY = ("org_name", "org_address", "org_contact_email", "dpo_contact", "email_from", "sender_name")
ENV_KEYS = ("ORG_NAME", "ORG_ADDRESS", "ORG_CONTACT_EMAIL", "DPO_CONTACT", "EMAIL_FROM", "SMS_SENDER_NAME")


def bare(settings: Settings) -> Settings:
    """The test settings as a deployment that set none of the identity variables."""
    return settings.with_overrides(
        org_name="", org_address="", org_contact_email="", dpo_contact="", email_from="",
        sms=replace(settings.sms, sender_name=""),
    )  # fmt: skip


@pytest.fixture
def runtime(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    redis_conn: Any,
) -> Runtime:
    """The public pages' runtime, on settings without identity variables."""
    return QueuedRuntime(
        settings=bare(settings).with_overrides(instance_path=tmp_path),
        engine=engine,
        Session=session_factory,
        tokens=TokenService(settings.secret_keys),
    )


@pytest.fixture
def stored(db_session: Session) -> None:
    """The organisation as an admin saved it on the settings page."""
    organisation.update(db_session, dict(STORED), "user:1")
    db_session.commit()


def test_access_and_sign_up_emails_leave_from_the_stored_sender(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World, stored: None
) -> None:
    assert client.post("/access", data={"email": world.contact.email}).status_code == 200
    assert client.post("/signup", data={"email": "lou@example.org", "consent": ["news:1"]}).status_code == 200

    assert run_jobs(app, runtime) == 2
    mails = outbox(runtime)
    assert sorted(m["To"] for m in mails) == ["camille.martin@example.org", "lou@example.org"]
    for mail in mails:
        assert mail["From"] == "Stored SAS <news@stored.example>"
        assert "Stored SAS" in body_of(mail)


def test_public_pages_and_the_access_report_name_the_stored_controller(
    client: FlaskClient, world: World, stored: None
) -> None:
    footer = client.get("/access").get_data(as_text=True)
    assert "Stored SAS" in footer and "2 rue Stockée" in footer and "dpo@stored.example" in footer

    report = Portal(client, world.link).act("report").get_data(as_text=True)

    assert "Stored SAS" in report and "dpo@stored.example" in report


def test_portal_erasure_sends_its_confirmation_from_the_stored_sender(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World, stored: None
) -> None:
    asked = Portal(client, world.link).act("erase", confirm="yes")
    assert asked.status_code == 200
    assert run_jobs(app, runtime) == 1
    (link_mail,) = outbox(runtime)
    assert (link_mail["To"], link_mail["From"]) == (
        "camille.martin@example.org",
        "Stored SAS <news@stored.example>",
    )

    erased = client.post(link_in(link_mail, "/erase/"))

    assert erased.status_code == 200
    assert "aucun e-mail ne suivra" not in erased.get_data(as_text=True)
    _, notice = outbox(runtime)
    assert (notice["To"], notice["From"]) == (
        "camille.martin@example.org",
        "Stored SAS <news@stored.example>",
    )
    assert db_session.scalar(select(Contact.status).where(Contact.id == world.contact.id)) == "erased"


def test_without_a_sender_the_forms_refuse_at_once_and_queue_nothing(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    access = client.post("/access", data={"email": world.contact.email})
    signup = client.post("/signup", data={"email": "lou@example.org", "consent": ["news:1"]})
    as_json = client.post("/signup", json={"email": "lou@example.org", "consents": []})

    for answer in (access, signup):
        assert answer.status_code == 503
        assert "pas fini de renseigner son identité d'expéditeur" in answer.get_data(as_text=True)
    assert as_json.status_code == 503
    assert set(as_json.get_json()["fields"]) == {"legal_name", "sender_address"}
    assert db_session.scalar(select(Contact.id).where(Contact.email == "lou@example.org")) is None
    assert run_jobs(app, runtime) == 0


def test_without_a_sender_a_portal_erasure_waits_in_the_register_for_the_dpo(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    # No address can carry the confirmation link: nothing is erased on an unproven click, and the request
    # is registered for the DPO, who must answer it within the month (Art. 12(3)).
    asked = Portal(client, world.link).act("erase", confirm="yes")

    assert asked.status_code == 200
    assert "délégué à la protection des données" in asked.get_data(as_text=True)
    assert outbox(runtime) == []
    assert db_session.scalar(select(Contact.status).where(Contact.id == world.contact.id)) == "active"
    kinds = db_session.execute(
        select(RightsRequest.kind, RightsRequest.status).where(RightsRequest.contact_id == world.contact.id)
    ).all()
    assert [tuple(k) for k in kinds] == [("erasure", "open")]


def test_sms_stop_answer_names_the_stored_organisation(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    twilio: TwilioTestServer,
    db_session: Session,
    stored: None,
) -> None:
    sms_settings = with_sms(bare(settings), twilio, SMS_SENDER_NAME="")
    sms_runtime = QueuedRuntime(
        settings=sms_settings,
        engine=engine,
        Session=session_factory,
        tokens=TokenService(settings.secret_keys),
    )
    client = create_app({"TESTING": True}, runtime=sms_runtime).test_client()
    ContactFactory(phone="+33612345678")
    db_session.commit()
    params = twilio.inbound("+33612345678", "36123", "STOP")
    path = "/webhooks/twilio/inbound"

    answer = client.post(path, data=params, headers=twilio.signed(f"https://sender.test{path}", params))

    assert answer.status_code == 200
    assert "Stored SAS : votre demande est prise en compte" in answer.get_data(as_text=True)
    assert SERVICE_SID  # the stand-in's Messaging Service is the sender


RAW = re.compile(r"(runtime\(\)|runtime|rt|app\.extensions\[.sender.\])\.settings$")


def _reads(tree: ast.AST) -> set[str]:
    """Identity fields read off a runtime's settings (`runtime.settings.org_name`, or a name bound to them)."""
    found = set()
    for scope in ast.walk(tree):
        if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            continue
        aliases = {
            target.id
            for node in ast.walk(scope)
            if isinstance(node, ast.Assign) and RAW.search(ast.unparse(node.value))
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(scope):
            if isinstance(node, ast.Attribute) and node.attr in IDENTITY:
                chain = ast.unparse(node.value).removesuffix(".sms")
                if RAW.search(chain) or chain in aliases:
                    found.add(ast.unparse(node))
    return found


def test_only_the_resolver_and_the_loader_read_the_identity_settings() -> None:
    """Guard: the process's settings hold only environment overrides; everything else asks the resolver."""
    env_readers, raw_reads = {}, {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE.parent).as_posix()
        source = path.read_text(encoding="utf-8")
        looked_up = [k for k in ENV_KEYS if re.search(rf"""(env|environ)\w*\.get\(\s*["']{k}["']""", source)]
        if looked_up and name not in ("sender/config.py", "sender/config_sms.py"):
            env_readers[name] = looked_up
        reads = _reads(ast.parse(source))
        if reads and name != "sender/services/accounts/organisation.py":
            raw_reads[name] = sorted(reads)
    assert env_readers == {}
    assert raw_reads == {}
