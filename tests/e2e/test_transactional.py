"""Transactional messages end to end: the API, the transactional queue, the real worker, the SMTP wire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from sender.db import utcnow
from sender.models import Contact, TransactionalMessage
from sender.tasks.queue import QUEUES
from tests.e2e.conftest import Stack
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.e2e

RECEIPT = {
    "subject": "Your order {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }},\nwe received your order 4521. It leaves the warehouse tomorrow.",
}


def _setup(stack: Stack) -> dict[str, str]:
    orders = PurposeFactory(slug="orders", name="Order follow-up", legal_basis="contract")
    news = PurposeFactory(slug="news", name="News", legal_basis="consent")
    # No marketing consent at all: a transactional message needs none.
    contact = ContactFactory(email="gaspard@example.org", first_name="Gaspard")
    restricted = ContactFactory(email="hortense@example.org", status="restricted")
    stack.session.commit()
    return {
        "orders": orders.slug,
        "news": news.slug,
        "contact": contact.public_id,
        "restricted": restricted.public_id,
    }


def _send(stack: Stack, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**stack.headers, **({"Idempotency-Key": key} if key else {})}
    return stack.client.post("/api/v1/messages", json=body, headers=headers)


def test_a_receipt_to_a_person_without_marketing_consent_is_sent_once_whatever_the_retries(
    stack: Stack,
) -> None:
    ids = _setup(stack)
    body = {**RECEIPT, "contact": ids["contact"], "purpose": ids["orders"]}

    first = _send(stack, body, key="order-4521")
    assert first.status_code == 202, first.get_json()
    # Its own queue, the first the workers listen to.
    assert QUEUES[0] == "transactional"
    assert stack.runtime.queue("transactional").count == 1  # type: ignore[attr-defined]
    again = _send(stack, body, key="order-4521")
    assert again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = _send(stack, {**body, "subject": "Another subject"}, key="order-4521")
    assert other.status_code == 409
    assert "Idempotency-Key" in other.get_json()["message"]

    stack.worker()
    (received,) = stack.mail.messages
    message = received.message()
    assert received.rcpt_tos == ["gaspard@example.org"]
    assert message["Subject"] == "Your order Gaspard"
    text = message.get_content()
    assert "Hello Gaspard," in text
    # The exits stay: the sender's identity and the portal link; no unsubscribe (the basis allows no opt-out).
    assert "Exemple SAS, 1 rue de la Paix" in text
    assert "https://sender.test/p/" in text
    assert "unsubscribe" not in text.lower() and "List-Unsubscribe" not in message
    status = stack.client.get(f"/api/v1/messages/{first.get_json()['id']}", headers=stack.headers).get_json()
    assert status["status"] == "sent"

    # Asked again after it left: still the first answer, and nothing more on the wire.
    assert _send(stack, body, key="order-4521").get_json()["status"] == "sent"
    stack.worker()
    assert len(stack.mail.messages) == 1


def test_promotion_consent_purposes_and_contacts_that_may_not_be_messaged_are_refused(stack: Stack) -> None:
    ids = _setup(stack)
    promo = _send(
        stack,
        {
            "subject": "Your order",
            "body_text": "Thanks! See our deals at https://shop.example.org/deals",
            "contact": ids["contact"],
            "purpose": ids["orders"],
        },
    )
    assert promo.status_code == 422
    assert "body_text" in promo.get_json()["fields"]

    consent_based = _send(stack, {**RECEIPT, "contact": ids["contact"], "purpose": ids["news"]})
    assert consent_based.status_code == 422
    assert "contract or legal_obligation" in consent_based.get_json()["fields"]["purpose"]

    restricted = _send(stack, {**RECEIPT, "contact": ids["restricted"], "purpose": ids["orders"]})
    assert restricted.status_code == 409
    assert "restricted" in restricted.get_json()["message"]

    stack.worker()
    assert stack.mail.messages == []
    stack.session.expire_all()
    assert stack.session.scalar(select(Contact.status).where(Contact.public_id == ids["contact"])) == "active"
    stack.session.commit()


def test_a_message_whose_job_was_lost_is_asked_again_and_one_lost_while_sending_is_never_resent(
    stack: Stack,
) -> None:
    ids = _setup(stack)
    body = {**RECEIPT, "contact": ids["contact"], "purpose": ids["orders"]}
    lost = _send(stack, body, key="order-1").get_json()["id"]
    started = _send(stack, {**body, "subject": "Your invoice"}, key="order-2").get_json()["id"]
    # Redis lost both jobs after the commit (a failover, a flushed queue); the second had begun to leave.
    stack.runtime.queue("transactional").empty()  # type: ignore[attr-defined]
    an_hour_ago = utcnow() - timedelta(hours=1)
    stack.session.execute(update(TransactionalMessage).values(created_at=an_hour_ago))
    stack.session.execute(
        update(TransactionalMessage)
        .where(TransactionalMessage.public_id == started)
        .values(started_at=an_hour_ago)
    )
    stack.session.commit()

    out = stack.sweep()

    assert "transactional messages asked again: 1" in out
    assert "lost while sending (unknown): 1" in out
    stack.worker()
    (received,) = stack.mail.messages
    assert received.message()["Subject"] == "Your order Gaspard"
    statuses = {
        public_id: stack.client.get(f"/api/v1/messages/{public_id}", headers=stack.headers).get_json()[
            "status"
        ]
        for public_id in (lost, started)
    }
    assert statuses == {lost: "sent", started: "unknown"}
    # A second sweep finds nothing to ask for, and the unknown one is never sent.
    assert "transactional messages asked again: 0" in stack.sweep()
    stack.worker()
    assert len(stack.mail.messages) == 1


RESET = {
    "subject": "Reset your password",
    "body_text": "Hello {{ contact.first_name }},\nchoose a new password here: {{ vars.reset_url }}\n"
    "The link works for an hour.",
}


def test_a_password_reset_carries_its_link_on_an_allowed_host(stack: Stack) -> None:
    ids = _setup(stack)
    link = "https://sender.test/reset?token=abc123"
    body = {**RESET, "contact": ids["contact"], "purpose": ids["orders"], "variables": {"reset_url": link}}

    asked = _send(stack, body)
    assert asked.status_code == 202, asked.get_json()

    stack.worker()
    (received,) = stack.mail.messages
    assert f"choose a new password here: {link}\r\n" in received.message().get_content()


def test_a_link_to_another_host_in_the_template_or_a_variable_is_refused(stack: Stack) -> None:
    ids = _setup(stack)
    base = {"contact": ids["contact"], "purpose": ids["orders"]}

    written = _send(
        stack, {**RESET, **base, "body_text": "Reset it at https://evil.example.net/reset", "variables": {}}
    )
    assert written.status_code == 422
    assert "evil.example.net" in written.get_json()["fields"]["body_text"]
    through = _send(stack, {**RESET, **base, "variables": {"reset_url": "https://evil.example.net/r"}})
    assert through.status_code == 422
    assert "evil.example.net" in through.get_json()["fields"]["variables.reset_url"]
    selling = _send(stack, {**RESET, **base, "variables": {"reset_url": "https://sender.test/r 20% off"}})
    assert "20%" in selling.get_json()["fields"]["variables.reset_url"]
    missing = _send(stack, {**RESET, **base, "variables": {}})
    assert missing.status_code == 422 and "body_text" in missing.get_json()["fields"]
    bad_name = _send(stack, {**RESET, **base, "variables": {"Reset-URL": "x"}})
    assert bad_name.status_code == 422
    too_many = _send(stack, {**RESET, **base, "variables": {f"v{n}": "x" for n in range(21)}})
    assert too_many.status_code == 422

    stack.worker()
    assert stack.mail.messages == []
