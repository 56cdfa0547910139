"""Outgoing webhooks end to end: the API, the real worker, an https receiver that verifies every signature."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from sender import create_app, work
from sender.db import utcnow
from sender.enums import WebhookDeliveryStatus
from sender.models import Contact, WebhookDelivery, WebhookEndpoint
from sender.runtime import build_runtime
from sender.services.accounts import users
from sender.services.campaigns import launch
from sender.services.rights import erasure
from tests.e2e.conftest import Stack
from tests.queues import QueuedRuntime
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

PURPOSE = {"slug": "newsletter", "name": "Newsletter", "description": "News, monthly."}


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    """An https receiver whose CA the worker trusts through WEBHOOKS_CA_FILE."""
    with WebhookReceiver(tmp_path) as server:
        yield server


class Admin:
    """The admin's API client, on an app whose settings may allow private receivers."""

    def __init__(self, stack: Stack, allow_private: bool, ca_file: Path) -> None:
        settings = stack.runtime.settings
        tuned = settings.with_overrides(
            outgoing=replace(settings.outgoing, allow_private=allow_private, ca_file=str(ca_file))
        )
        self.runtime = QueuedRuntime(**vars(build_runtime(tuned)))
        self.client: FlaskClient = create_app({"TESTING": True}, runtime=self.runtime).test_client()
        session = self.runtime.Session()
        found = session.scalar(select(users.User).where(users.User.email == "admin@exemple.org"))
        user = found or users.create_user(session, "admin@exemple.org", "admin", "correct horse battery")
        self.headers = {"Authorization": f"Bearer {users.issue_token(session, user).value}"}
        session.commit()
        session.close()

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call as the admin."""
        return self.client.open(f"/api/v1{path}", method=method, json=body, headers=self.headers)

    def close(self) -> None:
        """Release the runtime's connections."""
        self.runtime.engine.dispose()


def _worker_env(stack: Stack, receiver: WebhookReceiver, allow_private: bool = True) -> None:
    stack.env.update(
        WEBHOOKS_ALLOW_PRIVATE="1" if allow_private else "0",
        WEBHOOKS_CA_FILE=str(receiver.ca_file),
        WEBHOOKS_DISABLE_AFTER="3",
    )


def _endpoint(admin: Admin, url: str, events: list[str]) -> dict[str, Any]:
    response = admin.call("POST", "/webhooks", {"url": url, "events": events})
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    assert created["secret"].startswith("whsec_")
    return created


def _consent_granted(stack: Stack, admin: Admin, email: str) -> str:
    """A contact created and granted through the API (the ledger emits consent.granted)."""
    if admin.call("GET", "/purposes/newsletter").status_code == 404:
        assert admin.call("POST", "/purposes", PURPOSE).status_code == 201
        wording = admin.call("POST", "/purposes/newsletter/wordings", {"text": "Yes, send me news."})
        assert wording.status_code == 201
    contact = stack.api("POST", "/contacts", {"email": email}).get_json()
    body = {
        "purpose": "newsletter",
        "channel": "email",
        "action": "grant",
        "source": "form",
        "mechanism": "checkbox",
        "wording_version": 1,
    }
    assert stack.api("POST", f"/contacts/{contact['id']}/consents", body).status_code == 201
    public_id: str = contact["id"]
    return public_id


def _deliveries(stack: Stack) -> list[WebhookDelivery]:
    stack.session.expire_all()
    rows = list(stack.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    stack.session.commit()
    return rows


def _let_retries_come_due(stack: Stack) -> None:
    """The tests' clock: every waiting attempt becomes due, and the sweep asks for it (as cron would)."""
    past = utcnow().replace(microsecond=0)
    stack.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == WebhookDeliveryStatus.PENDING)
        .values(next_attempt_at=past)
    )
    stack.session.commit()
    launch.sweep(stack.runtime, margin_seconds=0)


def _verified(hit_body: bytes, headers: dict[str, str], secret: str) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(hit_body, headers)
    return payload


def test_signed_events_are_retried_after_500s_until_the_receiver_takes_them(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    _worker_env(stack, receiver)
    admin = Admin(stack, allow_private=True, ca_file=receiver.ca_file)
    endpoint = _endpoint(admin, receiver.url(), ["consent.granted", "consent.withdrawn"])
    receiver.script([500, 500])

    public_id = _consent_granted(stack, admin, "amandine@example.org")
    stack.worker()
    _let_retries_come_due(stack)
    stack.worker()
    _let_retries_come_due(stack)
    stack.worker()

    hits = receiver.hits
    assert [hit.answered for hit in hits] == [500, 500, 200]
    payloads = [_verified(hit.body, hit.headers, endpoint["secret"]) for hit in hits]
    # One message, three attempts: the same webhook-id each time (receivers deduplicate on it).
    assert len({hit.headers["webhook-id"] for hit in hits}) == 1
    assert payloads[0]["type"] == "consent.granted"
    assert payloads[0]["data"]["contact"] == public_id
    assert "email" not in payloads[0]["data"]  # ids only unless the endpoint asks for addresses
    assert b"amandine" not in hits[0].body
    (row,) = _deliveries(stack)
    assert (row.status, row.attempts, row.last_status) == (WebhookDeliveryStatus.DELIVERED, 3, 200)

    log = admin.call("GET", f"/webhooks/{endpoint['id']}/deliveries").get_json()["items"]
    assert [(d["status"], d["attempts"]) for d in log] == [("delivered", 3)]
    # A replay sends the same message again, signed anew.
    replayed = admin.call("POST", f"/webhooks/{endpoint['id']}/deliveries/{row.id}/replay")
    assert replayed.status_code == 202, replayed.get_json()
    stack.worker()
    assert len(receiver.hits) == 4
    assert receiver.hits[3].headers["webhook-id"] == hits[0].headers["webhook-id"]
    _verified(receiver.hits[3].body, receiver.hits[3].headers, endpoint["secret"])
    admin.close()


def test_an_endpoint_failing_again_and_again_is_disabled_admins_are_told_and_it_gets_nothing_more(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    _worker_env(stack, receiver)
    admin = Admin(stack, allow_private=True, ca_file=receiver.ca_file)
    endpoint = _endpoint(admin, receiver.url(), ["consent.granted"])
    receiver.script([500] * 10)

    _consent_granted(stack, admin, "basile@example.org")
    stack.worker()
    _let_retries_come_due(stack)
    stack.worker()
    _let_retries_come_due(stack)
    stack.worker()  # the third failure in a row disables the endpoint and asks for the admins' email
    stack.worker()

    assert len(receiver.hits) == 3
    stack.session.expire_all()
    stored = stack.session.get(WebhookEndpoint, endpoint["id"])
    assert stored is not None and not stored.enabled and stored.disabled_at is not None
    stack.session.commit()
    (told,) = [m for m in stack.mail.messages if "admin@exemple.org" in m.rcpt_tos]
    assert "webhook" in str(told.message()["Subject"]).lower()
    assert admin.call("GET", f"/webhooks/{endpoint['id']}").get_json()["enabled"] is False

    # New facts make no delivery for the disabled endpoint, and the worker sends it nothing.
    _consent_granted(stack, admin, "celeste@example.org")
    _let_retries_come_due(stack)
    stack.worker()
    assert len(receiver.hits) == 3
    assert [d.status for d in _deliveries(stack)] == [WebhookDeliveryStatus.SKIPPED]
    admin.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "[::1]", "10.0.0.7"])
def test_a_private_receiver_is_refused_when_saved_unless_the_setting_allows_it(
    stack: Stack, receiver: WebhookReceiver, host: str
) -> None:
    strict = Admin(stack, allow_private=False, ca_file=receiver.ca_file)
    refused = strict.call("POST", "/webhooks", {"url": f"https://{host}/hooks", "events": ["contact.erased"]})
    assert refused.status_code == 422
    assert "private" in refused.get_json()["fields"]["url"]
    assert (
        strict.call(
            "POST", "/webhooks", {"url": "http://example.org/", "events": ["contact.erased"]}
        ).status_code
        == 422
    )
    strict.close()
    lab = Admin(stack, allow_private=True, ca_file=receiver.ca_file)
    allowed = lab.call("POST", "/webhooks", {"url": f"https://{host}/hooks", "events": ["contact.erased"]})
    assert allowed.status_code == 201, allowed.get_json()
    lab.close()


def test_a_name_resolving_to_loopback_is_refused_at_connection_time(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    # Saved while the setting allowed it; the worker runs without it: the check at connection time refuses.
    admin = Admin(stack, allow_private=True, ca_file=receiver.ca_file)
    _endpoint(admin, receiver.url(host="localhost"), ["consent.granted"])
    _worker_env(stack, receiver, allow_private=False)

    _consent_granted(stack, admin, "denise@example.org")
    stack.worker()

    assert receiver.hits == []
    (row,) = _deliveries(stack)
    assert (row.status, row.attempts, row.last_error) == (WebhookDeliveryStatus.PENDING, 1, "private_address")
    admin.close()


def test_contact_erased_carries_only_the_public_id_and_the_persons_other_events_go(
    stack: Stack, receiver: WebhookReceiver
) -> None:
    _worker_env(stack, receiver)
    admin = Admin(stack, allow_private=True, ca_file=receiver.ca_file)
    endpoint = _endpoint(admin, receiver.url(), ["consent.granted", "contact.erased"])
    public_id = _consent_granted(stack, admin, "emile@example.org")
    stack.worker()
    assert len(receiver.hits) == 1

    # The erasure, in a unit of its own as the staff page's button runs it.
    with work.unit(stack.runtime.Session, "erase") as session:
        contact = session.scalar(select(Contact).where(Contact.public_id == public_id))
        assert contact is not None
        erasure.erase(session, stack.runtime.settings, contact, actor="dpo@exemple.org", notify=False)
    stack.worker()

    last = receiver.hits[-1]
    payload = _verified(last.body, last.headers, endpoint["secret"])
    assert payload["type"] == "contact.erased"
    assert payload["data"] == {"contact": public_id}
    # The consent.granted event (and its delivery) about the person left with the erasure.
    assert [d.status for d in _deliveries(stack)] == [WebhookDeliveryStatus.DELIVERED]
    admin.close()
