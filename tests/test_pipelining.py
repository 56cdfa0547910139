"""The SMTP transport's tests again, against a server that offers PIPELINING (RFC 2920), plus what only it does.

The test functions imported from test_channels run here with this module's `smtp_server` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sender.channels.email.smtp import SmtpTransport
from tests.smtp_server import Reply, SmtpTestServer
from tests.test_channels import (
    make_message,
    test_421_closing_on_a_reused_connection_retries_once_on_a_fresh_one,
    test_connection_dropped_between_messages_is_reopened_transparently,
    test_connection_lost_during_data_is_temporary_unknown_and_not_resent,
    test_one_connection_is_reused_for_every_message,
    test_replies_at_end_of_data_are_classified,
    test_sender_problems_do_not_mark_the_recipient_invalid,
    test_temporary_refusal_at_rcpt,
    test_unknown_recipient_at_rcpt_is_permanent_and_invalid_without_echoing_the_address,
)

__all__ = [
    "test_421_closing_on_a_reused_connection_retries_once_on_a_fresh_one",
    "test_connection_dropped_between_messages_is_reopened_transparently",
    "test_connection_lost_during_data_is_temporary_unknown_and_not_resent",
    "test_one_connection_is_reused_for_every_message",
    "test_replies_at_end_of_data_are_classified",
    "test_sender_problems_do_not_mark_the_recipient_invalid",
    "test_temporary_refusal_at_rcpt",
    "test_unknown_recipient_at_rcpt_is_permanent_and_invalid_without_echoing_the_address",
]


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A test SMTP server that advertises PIPELINING."""
    with SmtpTestServer(pipelining=True) as server:
        yield server


def test_the_transport_pipelines_when_offered(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.url)
    with transport:
        assert transport.send(make_message(1)).outcome == "sent"
        conn = transport._conn
        assert conn is not None and conn.has_extn("pipelining")


def test_dot_stuffing_and_line_ends_survive_pipelining(smtp_server: SmtpTestServer) -> None:
    message = make_message(1)
    body = b".starts with a dot\r\n..two dots\r\nend\r\n.\r\nafter a lone dot"
    raw = message.data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + body
    with SmtpTransport(smtp_server.url) as transport:
        result = transport.send(type(message)(message.sender, message.recipient, message.message_id, raw))

    assert result.outcome == "sent"
    (received,) = smtp_server.messages
    assert received.data.split(b"\r\n\r\n", 1)[1] == body + b"\r\n"


def test_a_refused_recipient_leaves_the_connection_ready_for_the_next_message(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.script([Reply("550 5.1.1 no such user", at="rcpt"), Reply("452 4.5.3 too many", at="rcpt")])
    with SmtpTransport(smtp_server.url) as transport:
        results = [transport.send(make_message(n)) for n in range(4)]

    assert [(r.outcome, r.code) for r in results] == [
        ("permanent", 550),
        ("temporary", 452),
        ("sent", 250),
        ("sent", 250),
    ]
    assert smtp_server.connections == 1
