"""Concurrent sending over a pool of persistent SMTP connections, against a real SMTP server."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import get_channel
from sender.channels.email import EMAIL
from sender.channels.email.smtp import SmtpTransport
from sender.config import Settings
from sender.db import utcnow
from sender.models import Delivery
from sender.services.campaigns import delivery, planning
from sender.services.campaigns.outlet import MAX_THROTTLES, Outlet
from sender.services.messages.rendering import MessageRenderer
from sender.tokens import TokenService
from tests.campaign_helpers import build_audience
from tests.factories import CampaignFactory
from tests.smtp_server import Reply, SmtpTestServer, smtp_server
from tests.test_channels import make_message

__all__ = ["smtp_server"]


def _outlet(settings: Settings, server: SmtpTestServer, connections: int) -> Outlet:
    return Outlet(
        EMAIL,
        settings.with_overrides(smtp_url=server.url),
        None,
        transport=lambda: SmtpTransport(server.url),
        connections=connections,
    )


def test_messages_share_the_pool_one_transaction_per_connection(
    settings: Settings, smtp_server: SmtpTestServer
) -> None:
    # Slow answers keep every connection busy, so each of the 4 threads opens its own.
    smtp_server.script([Reply(None, delay=0.2)] * 8)
    with _outlet(settings, smtp_server, 4) as outlet:
        futures = [outlet.submit(lambda n=n: make_message(n)) for n in range(12)]
        attempts = [f.result() for f in futures]

    assert [a.verdict.status for a in attempts] == ["sent"] * 12
    assert smtp_server.connections == 4
    assert sorted(str(r.message()["Subject"]) for r in smtp_server.messages) == sorted(
        f"Message {n}" for n in range(12)
    )
    assert {r.connection for r in smtp_server.messages} == {1, 2, 3, 4}


def test_a_connection_lost_after_data_is_unknown_for_that_message_only_and_is_reopened(
    settings: Settings, smtp_server: SmtpTestServer
) -> None:
    lock = threading.Lock()
    dropped: list[str] = []

    def drop_message_5(received):  # the server drops the connection at the end of DATA of message 5
        if received.message()["Subject"] == "Message 5":
            with lock:
                dropped.append("Message 5")
            return Reply(disconnect=True)
        return Reply(None, delay=0.05)

    smtp_server.script([drop_message_5] * 20)
    with _outlet(settings, smtp_server, 3) as outlet:
        futures = [outlet.submit(lambda n=n: make_message(n)) for n in range(20)]
        attempts = {n: f.result() for n, f in enumerate(futures)}

    assert attempts[5].verdict.status == "unknown" and attempts[5].verdict.reason == "outcome_unknown"
    assert all(a.verdict.status == "sent" for n, a in attempts.items() if n != 5)
    subjects = [str(r.message()["Subject"]) for r in smtp_server.received]
    # Message 5 reached the server once and was never sent again; its connection was reopened for the rest.
    assert subjects.count("Message 5") == 1 and dropped == ["Message 5"]
    assert len(smtp_server.messages) == 19
    assert smtp_server.connections == 4


def test_connections_dropped_by_the_server_between_messages_are_reopened(
    settings: Settings, smtp_server: SmtpTestServer
) -> None:
    with _outlet(settings, smtp_server, 2) as outlet:
        first = [outlet.submit(lambda n=n: make_message(n)) for n in range(4)]
        assert [f.result().verdict.status for f in first] == ["sent"] * 4
        opened = smtp_server.connections
        smtp_server.drop_connections()
        second = [outlet.submit(lambda n=n: make_message(n)) for n in range(4, 8)]
        assert [f.result().verdict.status for f in second] == ["sent"] * 4

    assert len(smtp_server.messages) == 8
    assert smtp_server.connections > opened


def test_a_relay_that_keeps_throttling_gets_the_message_back_unsent_and_uncounted(
    settings: Settings, smtp_server: SmtpTestServer, db_session: Session
) -> None:
    audience = build_audience(db_session, eligible=1)
    campaign = CampaignFactory(
        purpose_id=audience.purpose.id, lists=[audience.lst], status="sending", planned_at=utcnow()
    )
    planning.plan_chunk(
        db_session,
        campaign,
        [audience.lst.id],
        utcnow(),
        500,
        channel=get_channel(campaign.channel),
        after=0,
        limit=10,
        first_batch=0,
    )
    smtp_server.script(["451 4.7.1 rate limited, slow down"] * MAX_THROTTLES)
    renderer = MessageRenderer(settings, TokenService(settings.secret_keys), campaign, audience.purpose)
    outlet = Outlet(
        EMAIL,
        settings,
        None,
        transport=lambda: SmtpTransport(smtp_server.url),
        connections=2,
        first_pause=0.01,
    )
    with outlet:
        report = delivery.send_batch(db_session, settings, campaign.id, 0, outlet, renderer.render)

    assert len(smtp_server.received) == MAX_THROTTLES and smtp_server.messages == []
    assert (report.sent, report.retry, report.failed) == (0, 1, 0)
    row = db_session.scalars(
        select(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.batch_no == 0)
        .execution_options(populate_existing=True)
    ).one()
    # Back in the queue for the batch's next run, with no attempt spent.
    assert (row.status, row.attempts, row.reason) == ("queued", 0, None)
    assert row.last_error == "451 4.7.1 rate limited, slow down"
