"""The Organisation page's DKIM form and DNS panel, signed in as an admin, against a real DNS server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import generate_password_hash

from sender import create_app
from sender.config import Settings
from sender.models import User
from sender.services.deliverability import dkim_key
from sender.tokens import TokenService
from tests.admin.conftest import PASSWORD, post, sign_in
from tests.dns_server import DnsTestServer
from tests.queues import QueuedRuntime


@pytest.fixture
def dns() -> Iterator[DnsTestServer]:
    with DnsTestServer() as server:
        yield server


@pytest.fixture
def tuned(settings: Settings, tmp_path: Path, dns: DnsTestServer) -> Settings:
    return settings.with_overrides(
        instance_path=tmp_path, guard=replace(settings.guard, dns_nameservers=dns.nameservers)
    )


def _client(
    db_session: Session, tuned: Settings, engine: Any, session_factory: sessionmaker[Session], role: str
) -> FlaskClient:
    runtime = QueuedRuntime(
        settings=tuned, engine=engine, Session=session_factory, tokens=TokenService(tuned.secret_keys)
    )
    db_session.add(
        User(email=f"{role}@exemple.org", role=role, password_hash=generate_password_hash(PASSWORD))
    )
    db_session.commit()
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    assert sign_in(client, f"{role}@exemple.org").status_code == 302
    return client


def test_a_generated_key_is_never_shown_and_its_record_checks_out(
    db_session: Session,
    tuned: Settings,
    engine: Any,
    session_factory: sessionmaker[Session],
    dns: DnsTestServer,
) -> None:
    admin = _client(db_session, tuned, engine, session_factory, "admin")
    page = admin.get("/admin/organisation").get_data(as_text=True)
    assert "No key is set." in page
    bad = post(admin, "/admin/organisation/dkim", {"selector": "s 1", "domain": "exemple.test", "private_key": "nope"}, token_page="/admin/organisation", follow_redirects=True)  # fmt: skip
    text = bad.get_data(as_text=True)
    assert "must be one or more DNS labels" in text and "is not an unencrypted PEM private key" in text
    assert not dkim_key.stored_path(tuned).exists()

    done = post(admin, "/admin/organisation/dkim", {"selector": "s2027", "domain": "exemple.test", "generate": "y"}, token_page="/admin/organisation", follow_redirects=True)  # fmt: skip
    page = done.get_data(as_text=True)
    assert "A key is set. It is never shown again" in page
    pem = dkim_key.stored_path(tuned).read_bytes()
    assert b"PRIVATE KEY" not in done.get_data() and pem.split(b"\n")[1].decode() not in page
    record = dkim_key.public_record(pem)
    assert f's2027._domainkey.exemple.test TXT "{record}"' in page

    # The DNS panel, before and after the records are published.
    page = admin.get("/admin/organisation?check=1").get_data(as_text=True)
    assert "no DKIM key published at s2027._domainkey.exemple.test" in page
    dns.txt("s2027._domainkey.exemple.test", record)
    dns.txt("exemple.test", "v=spf1 include:_spf.relay.example -all")
    dns.txt("_dmarc.exemple.test", "v=DMARC1; p=none")
    page = admin.get("/admin/organisation?check=1").get_data(as_text=True)
    assert "present, matches the configured key" in page and "present, policy none" in page
    assert page.count(">pass<") == 5

    # Without the edit permission: the page shows the state, the form is not there and a post is refused.
    dpo = _client(db_session, tuned, engine, session_factory, "dpo")
    page = dpo.get("/admin/organisation").get_data(as_text=True)
    assert "A key is set" in page and 'action="/admin/organisation/dkim"' not in page
    refused = post(dpo, "/admin/organisation/dkim", {"selector": "x"}, token_page="/admin/organisation")
    assert refused.status_code == 403
