"""Concurrent sending over a pool of persistent SMTP connections, against a real SMTP server."""

from __future__ import annotations

import threading

from sender.channels.email import EMAIL
from sender.channels.email.smtp import SmtpTransport
from sender.config import Settings
from sender.services.campaigns.outlet import Outlet
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
