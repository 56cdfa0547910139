"""Fuzz the provider webhooks with genuine signatures: hostile JSON never gets a 5xx, and a refusal changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sender import create_app
from sender.config_webhooks import load_webhook_settings
from sender.runtime import Runtime
from tests.db_snapshot import RefusalsChangeNothing
from tests.fuzz_values import HOSTILE_INT, JSON_VALUES, bounded
from tests.queues import QueuedRuntime
from tests.webhooks.signing import SendGridSigner, mailgun_body

EXAMPLES_PER_WEBHOOK = 25
MAILGUN_KEY = "key-fuzz-0123456789abcdef01234567"
BREVO_TOKEN = "brevo-fuzz-token-0123456789"
# Every field a provider's report is read from, so that the fuzz reaches the parsing of each.
FIELDS = [
    "event",
    "type",
    "reason",
    "status",
    "sg_event_id",
    "email",
    "smtp-id",
    "id",
    "severity",
    "recipient",
    "message",
    "delivery-status",
    "message-id",
    "ts_event",
    "ts",
]
VALUE = st.one_of(
    JSON_VALUES,
    HOSTILE_INT,
    st.sampled_from(
        [
            "bounce",
            "dropped",
            "spamreport",
            "failed",
            "complained",
            "hard_bounce",
            "spam",
            "permanent",
            "blocked",
            "Bounced Address",
            "<d1.c1.00@x>",
        ]
    ),
)
EVENT = st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=8)


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def hook_client(runtime: Runtime, redis_conn: Any, signer: SendGridSigner) -> Iterator[FlaskClient]:
    webhooks = load_webhook_settings(
        {
            "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public,
            "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
            "BREVO_WEBHOOK_TOKEN": BREVO_TOKEN,
        }
    )
    tuned = QueuedRuntime(
        **{**vars(runtime), "settings": runtime.settings.with_overrides(webhooks=webhooks, proxy_hops=1)}
    )
    yield create_app({"TESTING": True}, runtime=tuned).test_client()


def _check(
    client: FlaskClient, guard: RefusalsChangeNothing, path: str, body: bytes, headers: dict[str, str]
) -> None:
    guard.before()
    response = client.post(path, data=body, headers={"Content-Type": "application/json", **headers})
    assert response.status_code != 403, "the signature must hold for the fuzz to reach the parsing"
    assert response.status_code < 500, (path, body[:300])
    guard.after(response.status_code, (path, body[:300]))


def test_signed_hostile_reports(
    hook_client: FlaskClient, signer: SendGridSigner, db_session: Session
) -> None:
    guard = RefusalsChangeNothing(db_session)
    counter = iter(range(10**6))

    @bounded(EXAMPLES_PER_WEBHOOK)
    @given(events=st.one_of(st.lists(EVENT, max_size=3), JSON_VALUES))
    @example(
        events=[{"event": "bounce", "sg_event_id": "\ud800", "email": "a\udfffz@x.org", "status": "\x00"}]
    )
    @example(
        events=[
            {
                "event": "spamreport",
                "sg_event_id": "sg-1",
                "email": "a\x00b@x.org",
                "smtp-id": "<d9999999999999.c1.0@x>",
            }
        ]
    )
    def sendgrid(events: Any) -> None:
        body = json.dumps(events).encode()
        _check(hook_client, guard, "/webhooks/sendgrid", body, signer.headers(body))

    @bounded(EXAMPLES_PER_WEBHOOK)
    @given(event=st.one_of(EVENT, JSON_VALUES))
    @example(event={"event": "failed", "id": "\udfff", "recipient": "x@y.org"})
    @example(event={"event": "complained", "id": "mg-1", "recipient": "x\ud800@y.org"})
    def mailgun(event: Any) -> None:
        body = mailgun_body(MAILGUN_KEY, event, f"fuzz-token-{next(counter)}-{time.time()}")
        _check(hook_client, guard, "/webhooks/mailgun", body, {})

    @bounded(EXAMPLES_PER_WEBHOOK)
    @given(events=st.one_of(EVENT, st.lists(EVENT, max_size=3), JSON_VALUES))
    @example(events={"event": "hard_bounce", "message-id": "<\ud800>", "email": "x@y.org"})
    def brevo(events: Any) -> None:
        body = json.dumps(events).encode()
        _check(
            hook_client,
            guard,
            "/webhooks/brevo",
            body,
            {"Authorization": f"Bearer {BREVO_TOKEN}", "X-Forwarded-Proto": "https"},
        )

    sendgrid()
    mailgun()
    brevo()
