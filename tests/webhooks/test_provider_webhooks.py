"""Provider webhooks end to end: genuinely signed requests to the real app over HTTP, their effects through
the feedback service, and refusals (bad signature, wrong certificate host, stale or replayed) that change nothing."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from sender import create_app
from sender.config_webhooks import load_webhook_settings
from sender.db import utcnow
from sender.enums import DeliveryStatus, WebhookEvent
from sender.models import (
    ConsentEvent,
    Contact,
    Delivery,
    DeliveryFeedback,
    Enrolment,
    OutgoingEvent,
    Purpose,
    Suppression,
    WebhookDelivery,
    WebhookEndpoint,
)
from sender.runtime import Runtime
from sender.services.sequences import build, enrol, states
from sender.services.sequences.schema import SequenceInput
from tests import factories
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory
from tests.queues import QueuedRuntime
from tests.webhooks.signing import (
    TOPIC,
    SendGridSigner,
    SnsStandIn,
    basic,
    mailgun_body,
    ses_bounce,
    ses_complaint,
)

MAILGUN_KEY = "key-0123456789abcdef0123456789abcdef"
POSTMARK_USER, POSTMARK_PASSWORD = "postmark", "a-long-postmark-password"
BREVO_TOKEN = "brevo-token-0123456789abcdef"
STEP = {"subject": "Welcome", "body_html": "<p>Welcome</p>", "body_text_derived": True}


@dataclass
class Hooks:
    """The served app, its runtime, the SNS stand-in and SendGrid's key pair."""

    url: str
    runtime: Runtime
    sns: SnsStandIn
    sendgrid: SendGridSigner

    def post(
        self, path: str, body: bytes | dict[str, Any] | list[Any], headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """POST `body` (JSON unless bytes) and return the status and the answer's body."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def state(self) -> tuple[int, int, int]:
        """Reports recorded, suppressions, withdrawals: what no refused request may change."""
        with self.runtime.Session() as session:
            return (
                session.scalar(select(func.count(DeliveryFeedback.id))) or 0,
                session.scalar(select(func.count(Suppression.id))) or 0,
                session.scalar(select(func.count(ConsentEvent.id)).where(ConsentEvent.action == "withdraw"))
                or 0,
            )


@dataclass
class Sent:
    """One delivered email: its delivery id, Message-ID and address."""

    delivery_id: int
    message_id: str
    address: str
    contact_id: int


@pytest.fixture
def hooks(committed: Runtime) -> Iterator[Hooks]:
    """The app behind one proxy hop, with every provider configured, served on a free loopback port."""
    signer = SendGridSigner()
    with SnsStandIn() as sns:
        webhooks = load_webhook_settings(
            {
                "SES_SNS_TOPIC_ARNS": TOPIC,
                "SNS_TEST_ORIGIN": sns.origin,
                "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public,
                "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
                "POSTMARK_WEBHOOK_CREDENTIALS": f"{POSTMARK_USER}:{POSTMARK_PASSWORD}",
                "BREVO_WEBHOOK_TOKEN": BREVO_TOKEN,
                "WEBHOOK_TOLERANCE": "300",
            }
        )
        tuned = committed.settings.with_overrides(webhooks=webhooks, proxy_hops=1)
        runtime = QueuedRuntime(**{**vars(committed), "settings": tuned})
        httpd: BaseWSGIServer = make_server("127.0.0.1", 0, create_app({}, runtime=runtime), threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield Hooks(f"http://127.0.0.1:{httpd.server_port}", runtime, sns, signer)
        finally:
            httpd.shutdown()
            thread.join(10)


def _send(runtime: Runtime, count: int = 1) -> list[Sent]:
    """`count` people who consented on email to one purpose, each with a delivered message of one campaign."""
    session = runtime.Session()
    factories.bind(session)
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    campaign = CampaignFactory(purpose_id=purpose.id, status="sent")
    sent = []
    for _ in range(count):
        contact = ContactFactory()
        grant(session, contact, purpose)
        delivery = Delivery(
            campaign_id=campaign.id, contact_id=contact.id, status=DeliveryStatus.SENT, sent_at=utcnow()
        )
        session.add(delivery)
        session.flush()
        message_id = f"<d{delivery.id}.c{campaign.id}.0a1b2c3d4e5f@exemple.test>"
        sent.append(Sent(delivery.id, message_id, str(contact.email), contact.id))
    session.commit()
    session.close()
    return sent


@pytest.fixture
def sent(hooks: Hooks) -> Sent:
    """One delivered message."""
    return _send(hooks.runtime)[0]


def _delivery_status(hooks: Hooks, sent: Sent) -> str:
    with hooks.runtime.Session() as session:
        row = session.get(Delivery, sent.delivery_id)
        assert row is not None
        return str(row.status)


def _suppressed(hooks: Hooks, sent: Sent) -> list[str]:
    with hooks.runtime.Session() as session:
        contact = session.get(Contact, sent.contact_id)
        assert contact is not None
        return list(
            session.scalars(select(Suppression.reason).where(Suppression.address_hash == contact.email_hash))
        )


def _withdrawals(hooks: Hooks, sent: Sent) -> list[tuple[str, str, str]]:
    with hooks.runtime.Session() as session:
        events = session.scalars(
            select(ConsentEvent).where(
                ConsentEvent.contact_id == sent.contact_id, ConsentEvent.action == "withdraw"
            )
        )
        return [(e.source, e.mechanism, e.evidence["report_id"]) for e in events]


def _kinds(hooks: Hooks, sent: Sent) -> list[str]:
    with hooks.runtime.Session() as session:
        return list(
            session.scalars(
                select(DeliveryFeedback.kind).where(DeliveryFeedback.contact_id == sent.contact_id)
            )
        )


# --- Amazon SES through SNS ---------------------------------------------------------------------------


def test_an_sns_subscription_to_our_topic_is_confirmed_at_its_sns_url(hooks: Hooks) -> None:
    status, _ = hooks.post(
        "/webhooks/ses", hooks.sns.message("SubscriptionConfirmation", "You have chosen to subscribe")
    )

    assert status == 200
    assert [p.split("?")[0] for p in hooks.sns.requests] == [hooks.sns.cert_path, "/"]
    assert "Action=ConfirmSubscription" in hooks.sns.requests[1]


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_ses_permanent_bounce_marks_the_delivery_bounced_and_suppresses(
    hooks: Hooks, sent: Sent, version: str
) -> None:
    message = hooks.sns.message("Notification", ses_bounce(sent.message_id, sent.address), version=version)

    assert hooks.post("/webhooks/ses", message)[0] == 200

    assert _delivery_status(hooks, sent) == DeliveryStatus.BOUNCED
    assert _suppressed(hooks, sent) == ["hard_bounce"]
    # The certificate was fetched once, then kept.
    hooks.post("/webhooks/ses", message)
    assert hooks.sns.requests == [hooks.sns.cert_path]


def test_an_ses_transient_bounce_is_counted_soft_and_a_complaint_withdraws(hooks: Hooks) -> None:
    soft, complained = _send(hooks.runtime, 2)

    transient = ses_bounce(soft.message_id, soft.address, "Transient", feedback_id="fb-soft")
    assert hooks.post("/webhooks/ses", hooks.sns.message("Notification", transient))[0] == 200
    complaint = ses_complaint(complained.message_id, complained.address, feedback_id="fb-abuse")
    assert (
        hooks.post("/webhooks/ses", hooks.sns.message("Notification", complaint, message_id="m-2"))[0] == 200
    )

    assert (_kinds(hooks, soft), _suppressed(hooks, soft)) == (["soft_bounce"], [])
    assert _delivery_status(hooks, soft) == DeliveryStatus.SENT
    assert _withdrawals(hooks, complained) == [("complaint", "complaint", "fb-abuse")]
    assert _suppressed(hooks, complained) == ["complaint"]


def test_a_complaint_exits_the_consent_sequences_and_emits_consent_withdrawn(hooks: Hooks) -> None:
    (complained,) = _send(hooks.runtime)
    with hooks.runtime.Session() as session:
        purpose = session.scalars(select(Purpose)).one()
        data = SequenceInput.parse(
            {"name": "Welcome", "purpose": purpose.slug, "trigger": "consent", "steps": [STEP]}
        )
        sequence = build.save(session, None, data, "user:1")
        states.move(session, sequence, states.ACTIVATE)
        enrol.enrol(session, sequence, [complained.contact_id])
        session.add(
            WebhookEndpoint(
                url="https://hooks.example.org/in",
                secret="whsec_" + "A" * 32,
                events=[WebhookEvent.CONSENT_WITHDRAWN],
                enabled=True,
                created_by="admin@example.org",
            )
        )
        session.commit()

    complaint = ses_complaint(complained.message_id, complained.address, feedback_id="fb-abuse")
    assert hooks.post("/webhooks/ses", hooks.sns.message("Notification", complaint))[0] == 200

    with hooks.runtime.Session() as session:
        passage = session.execute(select(Enrolment.status, Enrolment.exit_reason)).one()
        assert tuple(passage) == ("exited", "withdrawn")
        told = session.scalars(
            select(OutgoingEvent).where(OutgoingEvent.event_type == WebhookEvent.CONSENT_WITHDRAWN)
        ).all()
        assert [e.contact_id for e in told] == [complained.contact_id]
        assert told[0].payload["purpose"] == purpose.slug
        assert session.scalar(select(func.count(WebhookDelivery.id))) == 1


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.eu-west-3.amazonaws.com.attacker.test/SimpleNotificationService.pem",
        "http://sns.eu-west-3.amazonaws.com/SimpleNotificationService.pem",
        "https://attacker.test/SimpleNotificationService.pem",
        "https://sns.eu-west-3.amazonaws.com@attacker.test/SimpleNotificationService.pem",
        "https://s3.amazonaws.com/sns.eu-west-3.amazonaws.com/SimpleNotificationService.pem",
    ],
)
def test_a_signing_certificate_off_the_sns_hosts_is_refused_before_any_fetch(
    hooks: Hooks, sent: Sent, cert_url: str
) -> None:
    before = hooks.state()
    message = hooks.sns.message("Notification", ses_bounce(sent.message_id, sent.address), cert_url=cert_url)

    assert hooks.post("/webhooks/ses", message)[0] == 403
    assert hooks.sns.requests == []
    assert hooks.state() == before


def test_a_forged_stale_or_foreign_sns_message_changes_nothing(hooks: Hooks, sent: Sent) -> None:
    before = hooks.state()
    tampered = hooks.sns.message("Notification", ses_bounce(sent.message_id, sent.address))
    tampered["Message"] = json.dumps(ses_complaint(sent.message_id, sent.address))
    stale = hooks.sns.message(
        "Notification", ses_bounce(sent.message_id, sent.address), at=datetime.now(UTC) - timedelta(hours=2)
    )
    foreign = hooks.sns.message(
        "Notification",
        ses_bounce(sent.message_id, sent.address),
        topic="arn:aws:sns:eu-west-3:999999999999:other",
    )
    unsigned = {k: v for k, v in tampered.items() if k != "Signature"}

    statuses = [hooks.post("/webhooks/ses", m)[0] for m in (tampered, stale, foreign, unsigned)]

    assert statuses == [403, 403, 403, 403]
    assert hooks.state() == before
    assert _delivery_status(hooks, sent) == DeliveryStatus.SENT


def test_an_sns_notification_replayed_has_its_effect_once(hooks: Hooks, sent: Sent) -> None:
    message = hooks.sns.message("Notification", ses_bounce(sent.message_id, sent.address, "Transient"))

    assert [hooks.post("/webhooks/ses", message)[0] for _ in range(3)] == [200, 200, 200]
    assert _kinds(hooks, sent) == ["soft_bounce"]


# --- SendGrid -------------------------------------------------------------------------------------------


def _sendgrid_events(*people: tuple[Sent, str, dict[str, Any]]) -> bytes:
    return json.dumps(
        [
            {
                "email": p.address,
                "timestamp": int(time.time()),
                "smtp-id": p.message_id,
                "event": event,
                "sg_event_id": f"sg-{p.delivery_id}-{event}",
                **extra,
            }
            for p, event, extra in people
        ]
    ).encode()


def test_a_signed_sendgrid_batch_applies_bounces_and_spam_reports(hooks: Hooks) -> None:
    bounced, blocked, complained, delivered = _send(hooks.runtime, 4)
    body = _sendgrid_events(
        (bounced, "bounce", {"type": "bounce", "status": "5.1.1"}),
        (blocked, "bounce", {"type": "blocked", "status": "4.7.1"}),
        (complained, "spamreport", {}),
        (delivered, "delivered", {}),
    )

    assert hooks.post("/webhooks/sendgrid", body, hooks.sendgrid.headers(body)) == (200, b"")

    assert (_delivery_status(hooks, bounced), _suppressed(hooks, bounced)) == ("bounced", ["hard_bounce"])
    assert (_kinds(hooks, blocked), _suppressed(hooks, blocked)) == (["soft_bounce"], [])
    assert _withdrawals(hooks, complained) == [
        ("complaint", "complaint", f"sg-{complained.delivery_id}-spamreport")
    ]
    assert _kinds(hooks, delivered) == []


def test_a_sendgrid_batch_with_a_bad_or_stale_signature_or_replayed_changes_nothing(
    hooks: Hooks, sent: Sent
) -> None:
    body = _sendgrid_events((sent, "bounce", {"type": "bounce"}))
    other_key = SendGridSigner().headers(body)
    stale = hooks.sendgrid.headers(body, timestamp=int(time.time()) - 3600)
    swapped = hooks.sendgrid.headers(b"[]")
    before = hooks.state()

    assert [hooks.post("/webhooks/sendgrid", body, h)[0] for h in (other_key, stale, swapped, {})] == [
        403
    ] * 4
    assert hooks.state() == before

    signed = hooks.sendgrid.headers(body)
    assert [hooks.post("/webhooks/sendgrid", body, signed)[0] for _ in range(2)] == [200, 200]
    assert _kinds(hooks, sent) == ["hard_bounce"]


def test_a_report_on_an_unknown_delivery_gets_the_same_answer_and_changes_nothing(
    hooks: Hooks, sent: Sent
) -> None:
    ghost = Sent(
        sent.delivery_id + 10_000,
        f"<d{sent.delivery_id + 10_000}.c1.00ff@exemple.test>",
        "nobody@example.org",
        0,
    )
    known = _sendgrid_events((sent, "bounce", {"type": "bounce"}))
    unknown = _sendgrid_events((ghost, "bounce", {"type": "bounce"}))
    before = hooks.state()

    answer = hooks.post("/webhooks/sendgrid", unknown, hooks.sendgrid.headers(unknown))

    assert hooks.state() == before
    assert answer == hooks.post("/webhooks/sendgrid", known, hooks.sendgrid.headers(known)) == (200, b"")


# --- Mailgun --------------------------------------------------------------------------------------------


def _mailgun_event(sent: Sent, event: str, event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "event": event,
        "timestamp": time.time(),
        "recipient": sent.address,
        "message": {"headers": {"message-id": sent.message_id.strip("<>")}},
        **extra,
    }


def test_signed_mailgun_failures_and_complaints_apply(hooks: Hooks) -> None:
    permanent, temporary, complained = _send(hooks.runtime, 3)
    events = [
        _mailgun_event(
            permanent, "failed", "mg-1", severity="permanent", **{"delivery-status": {"code": 550}}
        ),
        _mailgun_event(temporary, "failed", "mg-2", severity="temporary"),
        _mailgun_event(complained, "complained", "mg-3"),
    ]
    for n, event in enumerate(events):
        assert hooks.post("/webhooks/mailgun", mailgun_body(MAILGUN_KEY, event, f"token-{n}"))[0] == 200

    assert (_delivery_status(hooks, permanent), _suppressed(hooks, permanent)) == ("bounced", ["hard_bounce"])
    assert _kinds(hooks, temporary) == ["soft_bounce"]
    assert _withdrawals(hooks, complained) == [("complaint", "complaint", "mg-3")]


def test_a_mailgun_token_reused_a_bad_signature_or_a_stale_one_changes_nothing(hooks: Hooks) -> None:
    first, second = _send(hooks.runtime, 2)
    captured = mailgun_body(
        MAILGUN_KEY, _mailgun_event(first, "failed", "mg-a", severity="temporary"), "tok-1"
    )
    assert hooks.post("/webhooks/mailgun", captured)[0] == 200
    before = hooks.state()

    # Mailgun's signature covers the timestamp and token only: the same block over another event is a replay.
    reused = json.loads(captured)
    reused["event-data"] = _mailgun_event(second, "complained", "mg-b")
    forged = mailgun_body("key-another-key-0123456789", _mailgun_event(second, "complained", "mg-c"), "tok-2")
    stale = mailgun_body(
        MAILGUN_KEY, _mailgun_event(second, "complained", "mg-d"), "tok-3", int(time.time()) - 3600
    )
    statuses = [hooks.post("/webhooks/mailgun", b)[0] for b in (reused, forged, stale, b"{}")]

    assert statuses == [403, 403, 403, 403]
    assert hooks.state() == before
    # Mailgun's own retry of the first event is answered, and changes nothing.
    assert hooks.post("/webhooks/mailgun", captured)[0] == 200
    assert hooks.state() == before


# --- Postmark -------------------------------------------------------------------------------------------


def _postmark(sent: Sent, record_type: str, report_id: int, bounce_type: str = "") -> dict[str, Any]:
    return {
        "RecordType": record_type,
        "ID": report_id,
        "Type": bounce_type,
        "Email": sent.address,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "BouncedAt": "2026-12-05T10:00:00Z",
    }


def test_postmark_bounces_and_complaints_with_its_credentials_over_https_apply(hooks: Hooks) -> None:
    hard, complained = _send(hooks.runtime, 2)
    over_https = {"Authorization": basic(POSTMARK_USER, POSTMARK_PASSWORD), "X-Forwarded-Proto": "https"}

    assert (
        hooks.post("/webhooks/postmark", _postmark(hard, "Bounce", 101, "HardBounce"), over_https)[0] == 200
    )
    assert hooks.post("/webhooks/postmark", _postmark(complained, "SpamComplaint", 102), over_https)[0] == 200

    assert _suppressed(hooks, hard) == ["hard_bounce"]
    assert _withdrawals(hooks, complained) == [("complaint", "complaint", "102")]


def test_postmark_over_plain_http_or_with_bad_credentials_changes_nothing(hooks: Hooks, sent: Sent) -> None:
    body = _postmark(sent, "Bounce", 103, "HardBounce")
    before = hooks.state()
    attempts = [
        {
            "Authorization": basic(POSTMARK_USER, POSTMARK_PASSWORD)
        },  # the site is https: plain http is refused
        {"Authorization": basic(POSTMARK_USER, "not-the-password"), "X-Forwarded-Proto": "https"},
        {"X-Forwarded-Proto": "https"},
    ]

    assert [hooks.post("/webhooks/postmark", body, h)[0] for h in attempts] == [403, 403, 403]
    assert hooks.state() == before


# --- Brevo ----------------------------------------------------------------------------------------------


def _brevo(sent: Sent, event: str) -> dict[str, Any]:
    return {
        "event": event,
        "email": sent.address,
        "id": 4711,
        "message-id": sent.message_id,
        "ts_event": int(time.time()),
        "date": "2026-12-05 10:00:00",
        "tag": "",
    }


def test_brevo_events_with_its_bearer_token_apply_once_and_a_bad_token_changes_nothing(hooks: Hooks) -> None:
    hard, complained = _send(hooks.runtime, 2)
    token = {"Authorization": f"Bearer {BREVO_TOKEN}", "X-Forwarded-Proto": "https"}
    before = hooks.state()

    bad = [
        {"Authorization": "Bearer wrong-token-0123456789", "X-Forwarded-Proto": "https"},
        {"Authorization": f"Bearer {BREVO_TOKEN}"},
    ]
    assert [hooks.post("/webhooks/brevo", _brevo(hard, "hard_bounce"), h)[0] for h in bad] == [403, 403]
    assert hooks.state() == before

    hard_event = _brevo(hard, "hard_bounce")
    assert [hooks.post("/webhooks/brevo", hard_event, token)[0] for _ in range(2)] == [200, 200]
    assert hooks.post("/webhooks/brevo", [_brevo(complained, "spam")], token)[0] == 200

    assert (_delivery_status(hooks, hard), _kinds(hooks, hard)) == ("bounced", ["hard_bounce"])
    assert _suppressed(hooks, complained) == ["complaint"]
    assert [w[:2] for w in _withdrawals(hooks, complained)] == [("complaint", "complaint")]


def test_an_unconfigured_provider_refuses_everything(committed: Runtime) -> None:
    app = create_app({}, runtime=committed)
    client = app.test_client()
    for path in (
        "/webhooks/ses",
        "/webhooks/sendgrid",
        "/webhooks/mailgun",
        "/webhooks/postmark",
        "/webhooks/brevo",
    ):
        assert (
            client.post(
                path, data=b"{}", headers={"Authorization": "Bearer ", "Content-Type": "application/json"}
            ).status_code
            == 403
        )


def test_feedback_applied_through_a_webhook_is_counted_in_the_metrics(hooks: Hooks) -> None:
    soft, complained = _send(hooks.runtime, 2)

    def counted(kind: str) -> float:
        value = REGISTRY.get_sample_value("sender_feedback_total", {"channel": "email", "kind": kind})
        return value or 0.0

    before = (counted("soft_bounce"), counted("complaint"))
    transient = ses_bounce(soft.message_id, soft.address, "Transient", feedback_id="fb-metric-soft")
    hooks.post("/webhooks/ses", hooks.sns.message("Notification", transient, message_id="m-metric-1"))
    complaint = ses_complaint(complained.message_id, complained.address, feedback_id="fb-metric-abuse")
    notification = hooks.sns.message("Notification", complaint, message_id="m-metric-2")
    hooks.post("/webhooks/ses", notification)
    # The same report again is a replay: applied once, counted once.
    hooks.post("/webhooks/ses", notification)

    assert (counted("soft_bounce"), counted("complaint")) == (before[0] + 1, before[1] + 1)
