"""SMS campaigns end to end: the API, real `python worker.py --burst` processes, the real Twilio SDK talking
HTTP to the Twilio stand-in, and signed webhooks (R10, R13, R62, R64)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sender import create_app
from sender.config import Settings
from sender.models import Delivery, Suppression
from sender.runtime import Runtime, build_runtime
from sender.services.accounts import users
from tests import factories
from tests.e2e.conftest import Stack
from tests.queues import QueuedRuntime
from tests.sms_fixtures import STOP_TEXT, sms_env, with_sms
from tests.smtp_server import SmtpTestServer
from tests.test_sms_channel import ALL_WEEK, zone_at_local_hour
from tests.twilio_server import TwilioTestServer

pytestmark = pytest.mark.e2e

INBOUND = "/webhooks/twilio/inbound"
PUBLIC = "https://sender.test"


@pytest.fixture
def twilio() -> Iterator[TwilioTestServer]:
    """The stand-in, answering in 10 ms."""
    with TwilioTestServer(latency=0.01) as server:
        yield server


@pytest.fixture
def sms_stack(
    committed: Runtime,
    settings: Settings,
    base_env: dict[str, str],
    mail: SmtpTestServer,
    twilio: TwilioTestServer,
) -> Iterator[Stack]:
    """The app and worker environment with Twilio pointed at the stand-in and every day open 08:00-21:30."""
    tuned = with_sms(settings, twilio, **ALL_WEEK).with_overrides(send_batch_size=10, send_claim_size=3)
    runtime = QueuedRuntime(**vars(build_runtime(tuned)))
    session = runtime.Session()
    factories.bind(session)
    # An admin: the purpose (an Art. 30 register entry) is created through the API too.
    user = users.create_user(session, "ops@exemple.org", "admin", "correct horse battery")
    token = users.issue_token(session, user).value
    session.commit()
    env = {
        **os.environ,
        **base_env,
        **sms_env(twilio),
        **ALL_WEEK,
        "SEND_BATCH_SIZE": "10",
        "SEND_CLAIM_SIZE": "3",
    }
    env.pop("COVERAGE_PROCESS_START", None)
    app = create_app({"TESTING": True}, runtime=runtime)
    yield Stack(runtime, app.test_client(), {"Authorization": f"Bearer {token}"}, session, mail, env)
    session.close()
    runtime.engine.dispose()


def _setup(stack: Stack, people: dict[str, dict[str, Any]]) -> tuple[str, int, dict[str, str]]:
    """A purpose with a wording, contacts with the given fields and consents, all on one list."""
    assert (
        stack.api(
            "POST", "/purposes", {"slug": "promos", "name": "Promos", "description": "Our offers."}
        ).status_code
        == 201
    )
    assert stack.api("POST", "/purposes/promos/wordings", {"text": "Yes, text me offers."}).status_code == 201
    ids = {}
    zone = zone_at_local_hour(12)
    for name, spec in people.items():
        fields = {k: v for k, v in spec.items() if k != "consents"}
        created = stack.api("POST", "/contacts", {"first_name": name, "timezone": zone, **fields})
        assert created.status_code == 201, created.get_json()
        ids[name] = created.get_json()["id"]
        for channel in spec.get("consents", ()):
            granted = stack.api(
                "POST",
                f"/contacts/{ids[name]}/consents",
                {
                    "purpose": "promos",
                    "channel": channel,
                    "action": "grant",
                    "source": "form",
                    "mechanism": "checkbox",
                    "wording_version": 1,
                },
            )
            assert granted.status_code == 201, granted.get_json()
    lst = stack.api("POST", "/lists", {"name": "Everyone"}).get_json()["id"]
    stack.api("POST", f"/lists/{lst}/members", {"contact_ids": list(ids.values())})
    return "promos", lst, ids


def _campaign(stack: Stack, lst: int, name: str = "Soldes") -> int:
    created = stack.api(
        "POST",
        "/campaigns",
        {
            "name": name,
            "purpose": "promos",
            "channel": "sms",
            "lists": [lst],
            "body_text": "Soldes -20%, {{ contact.first_name }} !",
        },
    )
    assert created.status_code == 201, created.get_json()
    return int(created.get_json()["id"])


def _deliveries(stack: Stack, campaign_id: int) -> dict[str, tuple[str, str | None]]:
    rows = stack.api("GET", f"/campaigns/{campaign_id}/deliveries?limit=200").get_json()["items"]
    return {row["contact"]: (row["status"], row["reason"]) for row in rows}


def test_an_sms_campaign_reaches_only_sms_consented_phones(
    sms_stack: Stack, twilio: TwilioTestServer
) -> None:
    people = {
        "Alice": {"phone": "+33612345601", "email": "alice@example.org", "consents": ["sms"]},
        "Bruno": {"phone": "+33612345602", "email": "bruno@example.org", "consents": ["email"]},
        "Chloe": {"phone": "+33612345603", "email": "chloe@example.org", "consents": ["sms", "email"]},
        "Denis": {"email": "denis@example.org", "consents": ["sms", "email"]},
        "Emma": {"phone": "+33612345605"},
    }
    _, lst, ids = _setup(sms_stack, people)
    campaign = _campaign(sms_stack, lst)

    launched = sms_stack.api("POST", f"/campaigns/{campaign}/send")
    assert launched.status_code == 202, launched.get_json()
    assert launched.get_json()["skipped"] == {"no_address": 1, "no_consent": 2}
    sms_stack.worker()

    assert sorted(r.to for r in twilio.accepted()) == ["+33612345601", "+33612345603"]
    assert {r.body for r in twilio.accepted()} == {
        f"Soldes -20%, {name} !\nExemple\n{STOP_TEXT}" for name in ("Alice", "Chloe")
    }
    assert sms_stack.mail.received == []  # an SMS campaign sends no email, even to email-consented people
    result = sms_stack.api("GET", f"/campaigns/{campaign}").get_json()
    assert result["status"] == "sent"
    assert result["counts"]["by_status"] == {"sent": 2, "skipped": 3}
    assert _deliveries(sms_stack, campaign)[ids["Denis"]] == ("skipped", "no_address")


def test_a_stop_received_mid_campaign_stops_the_rest_for_that_phone(
    sms_stack: Stack, twilio: TwilioTestServer
) -> None:
    people = {f"P{i:02d}": {"phone": f"+336123456{i:02d}", "consents": ["sms"]} for i in range(25)}
    _, lst, ids = _setup(sms_stack, people)
    first, second = _campaign(sms_stack, lst, "One"), _campaign(sms_stack, lst, "Two")
    assert sms_stack.api("POST", f"/campaigns/{first}/send").status_code == 202
    assert sms_stack.api("POST", f"/campaigns/{second}/send").status_code == 202

    # Both campaigns are queued for everyone when P17 answers STOP to some earlier message.
    params = twilio.inbound("+33612345617", "36123", "ARRÊT")
    answer = sms_stack.client.post(INBOUND, data=params, headers=twilio.signed(f"{PUBLIC}{INBOUND}", params))
    assert answer.status_code == 200
    sms_stack.worker()

    sent_to = [r.to for r in twilio.accepted()]
    assert "+33612345617" not in sent_to
    assert len(sent_to) == 2 * 24
    for campaign in (first, second):
        assert _deliveries(sms_stack, campaign)[ids["P17"]] == ("skipped", "suppressed")


def test_a_21610_answer_suppresses_the_phone_for_later_campaigns(
    sms_stack: Stack, twilio: TwilioTestServer
) -> None:
    people = {
        name: {"phone": f"+3361234570{i}", "consents": ["sms"]} for i, name in enumerate(("Anne", "Basile"))
    }
    _, lst, ids = _setup(sms_stack, people)
    twilio.fail("+33612345700", 21610)
    first = _campaign(sms_stack, lst, "One")
    sms_stack.api("POST", f"/campaigns/{first}/send")
    sms_stack.worker()

    assert _deliveries(sms_stack, first)[ids["Anne"]] == ("failed", "opted_out")
    assert [r.answered for r in twilio.received if r.to == "+33612345700"] == [
        400
    ]  # tried once, never retried
    with sms_stack.runtime.Session() as session:
        assert session.scalars(select(Suppression.reason)).all() == ["carrier_opt_out"]

    second = _campaign(sms_stack, lst, "Two")
    launched = sms_stack.api("POST", f"/campaigns/{second}/send").get_json()
    assert launched["skipped"] == {"suppressed": 1}
    sms_stack.worker()
    assert [r.to for r in twilio.received].count("+33612345700") == 1
    with sms_stack.runtime.Session() as session:
        statuses = session.scalars(select(Delivery.status).where(Delivery.campaign_id == second)).all()
    assert sorted(statuses) == ["sent", "skipped"]
