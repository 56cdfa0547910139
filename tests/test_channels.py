"""Email transports against a real SMTP server (aiosmtpd) and a real folder."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from sender.channels.base import SendResult
from sender.channels.email.message import OutgoingEmail
from sender.channels.email.outbox import OutboxTransport
from sender.channels.email.smtp import SmtpTransport
from sender.channels.email.transport import email_transport
from sender.config import Settings
from tests.smtp_server import Reply, SmtpTestServer, smtp_server, tls_contexts

__all__ = ["smtp_server"]


def make_message(n: int, to: str = "camille@example.org", message_id: str | None = None) -> OutgoingEmail:
    message = EmailMessage()
    message["From"] = "Exemple SAS <news@exemple.test>"
    message["To"] = to
    message["Subject"] = f"Message {n}"
    message["Message-ID"] = message_id or f"<d{n}.c1.abc@exemple.test>"
    message.set_content(f"Body {n}\n")
    return OutgoingEmail.from_message(message)


def test_one_connection_is_reused_for_every_message(smtp_server: SmtpTestServer) -> None:
    with SmtpTransport(smtp_server.url) as transport:
        results = [transport.send(make_message(n)) for n in range(5)]

    assert results == [SendResult("sent", 250, provider_id=f"<d{n}.c1.abc@exemple.test>") for n in range(5)]
    assert smtp_server.connections == 1
    got = smtp_server.messages
    assert [r.message()["Subject"] for r in got] == [f"Message {n}" for n in range(5)]
    assert got[0].rcpt_tos == ["camille@example.org"]
    assert got[0].mail_from == "news@exemple.test"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("421 4.3.0 try later", SendResult("temporary", 421, "4.3.0 try later")),
        ("451 4.7.1 greylisted", SendResult("temporary", 451, "4.7.1 greylisted")),
        ("552 5.3.4 message too big", SendResult("permanent", 552, "5.3.4 message too big")),
        ("554 5.7.1 spam", SendResult("permanent", 554, "5.7.1 spam")),
        (
            "550 5.1.1 no such user",
            SendResult("permanent", 550, "5.1.1 no such user", address_invalid=True),
        ),
    ],
)
def test_replies_at_end_of_data_are_classified(
    smtp_server: SmtpTestServer, reply: str, expected: SendResult
) -> None:
    smtp_server.script([reply])
    with SmtpTransport(smtp_server.url) as transport:
        result = transport.send(make_message(1))
        after = transport.send(make_message(2))

    assert result == expected
    assert after.outcome == "sent"


def test_unknown_recipient_at_rcpt_is_permanent_and_invalid_without_echoing_the_address(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.script([Reply("550 5.1.1 <camille@example.org>: Recipient address rejected", at="rcpt")])
    with SmtpTransport(smtp_server.url) as transport:
        result = transport.send(make_message(1))
        after = transport.send(make_message(2))

    assert (result.outcome, result.code, result.address_invalid) == ("permanent", 550, True)
    assert "example.org" not in result.detail
    assert after.outcome == "sent"
    assert smtp_server.connections == 1
    assert len(smtp_server.received) == 1  # the refused one never reached DATA


def test_sender_problems_do_not_mark_the_recipient_invalid(smtp_server: SmtpTestServer) -> None:
    smtp_server.script(
        [Reply("553 5.1.8 bad sender domain", at="mail"), Reply("550 5.1.7 bad sender syntax", at="rcpt")]
    )
    with SmtpTransport(smtp_server.url) as transport:
        first = transport.send(make_message(1))
        second = transport.send(make_message(2))

    assert (first.outcome, first.address_invalid) == ("permanent", False)
    assert (second.outcome, second.address_invalid) == ("permanent", False)


def test_temporary_refusal_at_rcpt(smtp_server: SmtpTestServer) -> None:
    smtp_server.script([Reply("450 4.2.1 mailbox busy", at="rcpt")])
    with SmtpTransport(smtp_server.url) as transport:
        result = transport.send(make_message(1))

    assert (result.outcome, result.code) == ("temporary", 450)


def test_connection_lost_during_data_is_temporary_unknown_and_not_resent(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.script([Reply(disconnect=True)])
    with SmtpTransport(smtp_server.url) as transport:
        lost = transport.send(make_message(1))
        after = transport.send(make_message(2))

    assert lost == SendResult("temporary", None, "connection lost", outcome_unknown=True)
    assert after.outcome == "sent"
    # Message 1 was not sent a second time: the server saw it once (dropped) and message 2 once.
    assert [r.message()["Subject"] for r in smtp_server.received] == ["Message 1", "Message 2"]
    assert smtp_server.connections == 2


def test_connection_dropped_between_messages_is_reopened_transparently(
    smtp_server: SmtpTestServer,
) -> None:
    with SmtpTransport(smtp_server.url) as transport:
        first = transport.send(make_message(1))
        smtp_server.drop_connections()
        second = transport.send(make_message(2))

    assert (first.outcome, second.outcome) == ("sent", "sent")
    assert [r.message()["Subject"] for r in smtp_server.messages] == ["Message 1", "Message 2"]
    assert smtp_server.connections == 2


def test_421_closing_on_a_reused_connection_retries_once_on_a_fresh_one(smtp_server: SmtpTestServer) -> None:
    smtp_server.script([None, Reply("421 4.4.2 idle timeout", at="mail")])
    with SmtpTransport(smtp_server.url) as transport:
        first = transport.send(make_message(1))
        second = transport.send(make_message(2))

    assert (first.outcome, second.outcome) == ("sent", "sent")
    assert smtp_server.connections == 2
    assert len(smtp_server.messages) == 2


def test_unreachable_server_gives_temporary_results(tmp_path: Path) -> None:
    with SmtpTestServer() as server:
        url = server.url
    # The server is stopped: nothing listens on its port any more.
    with SmtpTransport(url + "?timeout=5") as transport:
        results = [transport.send(make_message(n)) for n in range(3)]

    assert [r.outcome for r in results] == ["temporary"] * 3
    assert all(r.detail.startswith("cannot connect") for r in results)


def test_login_with_credentials_from_the_url() -> None:
    with SmtpTestServer(auth=("relay-user", "s3cr:et")) as server:
        with SmtpTransport(f"smtp://relay-user:s3cr%3Aet@127.0.0.1:{server.port}") as transport:
            ok = transport.send(make_message(1))
        with SmtpTransport(f"smtp://relay-user:wrong@127.0.0.1:{server.port}") as transport:
            refused = transport.send(make_message(2))

        assert ok.outcome == "sent"
        assert (refused.outcome, refused.detail[:24]) == ("temporary", "cannot open SMTP session")
        assert server.logins == ["relay-user"]
        assert len(server.messages) == 1


def test_starttls_and_implicit_tls(tmp_path: Path) -> None:
    server_ctx, client_ctx = tls_contexts(tmp_path)
    with SmtpTestServer(tls_context=server_ctx, auth=("u", "p")) as server:
        url = f"smtp://u:p@127.0.0.1:{server.port}?starttls=1"
        with SmtpTransport(url, ssl_context=client_ctx) as transport:
            assert transport.send(make_message(1)).outcome == "sent"
        assert server.logins == ["u"]
    with SmtpTestServer(tls_context=server_ctx, implicit_tls=True) as server:
        with SmtpTransport(server.url, ssl_context=client_ctx) as transport:
            assert transport.send(make_message(2)).outcome == "sent"
        assert len(server.messages) == 1


def test_tls_with_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    server_ctx, _ = tls_contexts(tmp_path)
    with SmtpTestServer(tls_context=server_ctx, implicit_tls=True) as server:
        with SmtpTransport(server.url) as transport:
            result = transport.send(make_message(1))
        assert result.outcome == "temporary"
        assert server.messages == []


def test_outbox_writes_parseable_eml_files_atomically(tmp_path: Path) -> None:
    folder = tmp_path / "outbox" / "nested"
    with OutboxTransport(folder) as transport:
        results = [transport.send(make_message(n)) for n in range(3)]

    files = sorted(folder.iterdir())
    assert [f.suffix for f in files] == [".eml"] * 3  # no temporary file left behind
    assert all(r.outcome == "sent" for r in results)
    assert [r.provider_id for r in results] == [f"<d{n}.c1.abc@exemple.test>" for n in range(3)]
    parsed = [email.message_from_bytes(f.read_bytes(), policy=default_policy) for f in files]
    assert sorted(str(p["Subject"]) for p in parsed) == ["Message 0", "Message 1", "Message 2"]
    names = {str(p["Subject"]): f.name for f, p in zip(files, parsed, strict=True)}
    assert names["Message 1"].endswith("-d1.c1.abc@exemple.test.eml")


def test_outbox_names_are_safe_with_hostile_message_ids(tmp_path: Path) -> None:
    message = make_message(1, message_id="<../../etc/passwd@x>")
    with OutboxTransport(tmp_path) as transport:
        result = transport.send(message)

    (written,) = list(tmp_path.iterdir())
    assert result.outcome == "sent"
    assert "/" not in written.name and written.name.endswith("etc_passwd@x.eml")


def test_factory_picks_smtp_when_configured(settings: Settings, smtp_server: SmtpTestServer) -> None:
    with email_transport(settings.with_overrides(smtp_url=smtp_server.url)) as transport:
        assert isinstance(transport, SmtpTransport)
        assert transport.send(make_message(1)).outcome == "sent"
    outbox = email_transport(settings.with_overrides(smtp_url=None))
    assert isinstance(outbox, OutboxTransport)
    assert outbox.folder == settings.outbox_path


@pytest.mark.parametrize("pipelining", [False, True])
def test_an_idn_domain_goes_as_idna_to_a_server_without_smtputf8(pipelining: bool) -> None:
    # Issue 15, item 17: this failed for good with "server does not support SMTPUTF8".
    with SmtpTestServer(pipelining=pipelining) as server, SmtpTransport(server.url) as transport:
        result = transport.send(make_message(1, to="camille@exämple.fr"))

        assert result.outcome == "sent"
        (received,) = server.messages
    assert received.rcpt_tos == ["camille@xn--exmple-cua.fr"]
    assert "SMTPUTF8" not in received.mail_options


def test_a_non_ascii_local_part_alone_needs_smtputf8() -> None:
    message = make_message(1, to="jürgen@exämple.fr")
    with SmtpTestServer() as server, SmtpTransport(server.url) as transport:
        result = transport.send(message)
    assert result == SendResult("permanent", None, "server does not support SMTPUTF8")

    with SmtpTestServer(smtputf8=True) as server, SmtpTransport(server.url) as transport:
        assert transport.send(message).outcome == "sent"
        (received,) = server.messages
    assert received.rcpt_tos == ["jürgen@exämple.fr"]
    assert "SMTPUTF8" in received.mail_options
