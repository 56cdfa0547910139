"""The circuit breaker end to end: a campaign sent over the SMTP wire with VERP return paths, a complaint (ARF)
delivered through the SMTP door (`sender bounces serve`), the campaign paused before its next batch claims
anything, the rest not sent, and a person resuming it through the API."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from sender.config_deliverability import DeliverabilitySettings
from sender.models import AuditEvent, Delivery
from sender.services.campaigns import launch, lifecycle
from tests.campaign_helpers import build_audience
from tests.e2e.conftest import Stack
from tests.e2e.test_bounces import BOUNCE_DOMAIN, _report, _serving, _smtp
from tests.queues import QueuedRuntime

pytestmark = pytest.mark.e2e


def test_a_complaint_through_the_smtp_door_pauses_the_campaign_until_a_person_resumes_it(
    stack: Stack,
) -> None:
    stack.env["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    base = stack.runtime.settings
    # One complaint in the first ten messages: 10 %, past 0.3 %, with the minimum sample set to 10.
    tuned = base.with_overrides(
        deliverability=DeliverabilitySettings(bounce_domain=BOUNCE_DOMAIN),
        guard=replace(base.guard, breaker_min_sent=10),
    )
    runtime = QueuedRuntime(**{**vars(stack.runtime), "settings": tuned})
    audience = build_audience(stack.session, eligible=30)
    stack.session.commit()
    created = stack.api(
        "POST",
        "/campaigns",
        {"name": "Offres", "subject": "Offres", "body_text": "Bonjour", "purpose": audience.purpose.slug, "lists": [audience.lst.id]},
    )  # fmt: skip
    campaign_id = created.get_json()["id"]
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
    batches = lifecycle.pending_batches(stack.session, campaign_id)
    stack.session.commit()
    assert batches == [0, 1, 2]

    # The first batch goes out as a worker sends it (in this process, to stop between batches).
    launch.run_batch(runtime, campaign_id, 0)
    assert len(stack.mail.messages) == 10
    return_path = stack.mail.messages[0].mail_from
    assert return_path.startswith("bounces+") and return_path.endswith(f"@{BOUNCE_DOMAIN}")
    with _serving(stack.env) as port:
        _smtp(port, "fbl@exemple.test", _report("arf_abuse.eml", return_path))

    # The next batch looks before it claims: the campaign is paused and nothing more leaves.
    launch.run_batch(runtime, campaign_id, 1)
    campaign = stack.api("GET", f"/campaigns/{campaign_id}").get_json()
    assert campaign["status"] == "paused" and campaign["paused_reason"] == "complaints"
    assert (
        campaign["deliverability"]["complaints"] == 1 and campaign["deliverability"]["complaint_rate"] == 10.0
    )
    assert len(stack.mail.messages) == 10
    stack.session.expire_all()
    queued = stack.session.scalars(
        select(Delivery.id).where(Delivery.campaign_id == campaign_id, Delivery.status == "queued")
    ).all()
    paused = stack.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "campaign.paused", AuditEvent.subject_id == str(campaign_id)
        )
    ).one()
    stack.session.commit()
    assert len(queued) == 20
    assert paused.actor == "circuit-breaker" and paused.details["scope"] == "campaign"

    # A person resumes it; the breaker counts from then, and the rest is sent once.
    assert stack.api("POST", f"/campaigns/{campaign_id}/resume").status_code == 200
    for batch in (1, 2):
        launch.run_batch(runtime, campaign_id, batch)
    campaign = stack.api("GET", f"/campaigns/{campaign_id}").get_json()
    assert campaign["status"] == "sent" and campaign["paused_reason"] is None
    assert len(stack.mail.messages) == 30
    assert len({m.rcpt_tos[0] for m in stack.mail.messages}) == 30
