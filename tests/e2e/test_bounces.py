"""A campaign sent over SMTP with VERP return paths, then its bounces and complaints delivered through the
SMTP door (`sender bounces serve`, fed with smtplib) and the IMAP door (`sender bounces fetch` against a
real dovecot): statuses, suppressions, ledger events, and what a forgery, an unknown delivery and a
replay through the other door change (nothing)."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sender.config_deliverability import DeliverabilitySettings
from sender.models import AuditEvent, ConsentEvent, Contact, Delivery, DeliveryFeedback, Suppression
from sender.services.deliverability import verp
from tests.campaign_helpers import build_audience
from tests.e2e.conftest import ROOT, Stack
from tests.imap_server import PASSWORD, DovecotServer

pytestmark = pytest.mark.e2e

SENDER = str(Path(sys.executable).parent / "sender")
SAMPLES = ROOT / "tests" / "fixtures" / "bounces"
BOUNCE_DOMAIN = "bounces.exemple.test"


@pytest.fixture
def verp_stack(stack: Stack) -> Stack:
    """The stack with BOUNCE_DOMAIN set for every process it starts."""
    stack.env["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    return stack


def _settings(stack: Stack):  # type: ignore[no-untyped-def]
    return stack.runtime.settings.with_overrides(
        deliverability=DeliverabilitySettings(bounce_domain=BOUNCE_DOMAIN)
    )


def _report(name: str, return_path: str) -> bytes:
    """A sample report sent back to `return_path`, with CRLF line ends as on the wire."""
    text = (SAMPLES / name).read_bytes().replace(b"@@VERP@@", return_path.encode())
    return b"\r\n".join(text.splitlines()) + b"\r\n"


@pytest.fixture
def imap_server() -> Iterator[DovecotServer]:
    """A real IMAP server (dovecot) with one empty account."""
    with DovecotServer() as server:
        yield server


@contextmanager
def _serving(env: dict[str, str], *flags: str) -> Iterator[int]:
    """`sender bounces serve` started as README says (on any free port here); yields the port it printed."""
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            [SENDER, "bounces", "serve", "--host", "127.0.0.1", "--port", "0", *flags],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        try:
            errors.seek(0)
            assert line.startswith("bounces: "), errors.read()
            yield int(line.rsplit(":", 1)[1])
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            proc.stdout.close()


@pytest.fixture
def bounce_server(verp_stack: Stack) -> Iterator[int]:
    """The SMTP door of the test's deployment."""
    with _serving(verp_stack.env) as port:
        yield port


def _send_campaign(stack: Stack, eligible: int) -> dict[str, tuple[Contact, Delivery, str]]:
    """Send a campaign to `eligible` consenting contacts; each one's delivery and the MAIL FROM it left with."""
    audience = build_audience(stack.session, eligible=eligible)
    stack.session.commit()
    created = stack.api(
        "POST",
        "/campaigns",
        {
            "name": "Offres",
            "subject": "Offres",
            "body_text": "Bonjour {{ contact.first_name }}",
            "purpose": audience.purpose.slug,
            "lists": [audience.lst.id],
        },
    )
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["id"]
    assert stack.api("POST", f"/campaigns/{campaign_id}/send").status_code == 202
    stack.worker()
    mail_from = {m.rcpt_tos[0]: m.mail_from for m in stack.mail.messages}
    sent = {}
    for n in range(eligible):
        contact = audience.contacts[f"eligible{n}"]
        delivery = stack.session.scalar(
            select(Delivery).where(Delivery.campaign_id == campaign_id, Delivery.contact_id == contact.id)
        )
        assert delivery is not None and delivery.status == "sent"
        sent[f"c{n}"] = (contact, delivery, mail_from[contact.email])
    stack.session.commit()
    return sent


def _state(stack: Stack) -> dict[str, object]:
    """Everything a report may change, counted."""
    stack.session.expire_all()
    session = stack.session
    state = {
        "statuses": dict(
            session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        ),
        "suppressions": sorted(session.scalars(select(Suppression.reason))),
        "withdrawals": session.scalar(
            select(func.count()).select_from(ConsentEvent).where(ConsentEvent.action == "withdraw")
        ),
        "feedback": session.scalar(select(func.count()).select_from(DeliveryFeedback)),
        "audit": session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("deliverability.%"))
        ),
    }
    session.commit()
    return state


def _smtp(port: int, rcpt: str, data: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.sendmail("", [rcpt], data)


def test_bounces_and_complaints_through_the_smtp_door(verp_stack: Stack, bounce_server: int) -> None:
    stack = verp_stack
    sent = _send_campaign(stack, eligible=3)
    settings = _settings(stack)
    # The relay saw each message's own VERP envelope sender, naming its delivery and no address.
    for contact, delivery, mail_from in sent.values():
        assert mail_from.startswith("bounces+") and mail_from.endswith(f"@{BOUNCE_DOMAIN}")
        assert contact.email.split("@")[0] not in mail_from
        assert verp.delivery_of(settings, mail_from) == delivery.id
    before = _state(stack)
    (hard_contact, hard, hard_path), (fbl_contact, fbl, fbl_path), (_, soft, soft_path) = sent.values()

    _smtp(bounce_server, hard_path, _report("postfix_hard.eml", hard_path))
    _smtp(bounce_server, "fbl@exemple.test", _report("arf_abuse.eml", fbl_path))
    _smtp(bounce_server, soft_path, _report("postfix_soft_expired.eml", soft_path))

    after = _state(stack)
    statuses = dict(before["statuses"])  # type: ignore[call-overload]
    statuses["sent"] -= 1
    assert after["statuses"] == {**statuses, "bounced": 1}
    stack.session.expire_all()
    assert stack.session.get(Delivery, hard.id).status == "bounced"  # type: ignore[union-attr]
    assert stack.session.get(Delivery, fbl.id).status == "sent"  # type: ignore[union-attr]
    assert stack.session.get(Delivery, soft.id).status == "sent"  # type: ignore[union-attr]
    reasons = dict(stack.session.execute(select(Suppression.address_hash, Suppression.reason)).all())
    assert reasons[hard_contact.email_hash] == "hard_bounce"
    assert reasons[fbl_contact.email_hash] == "complaint"
    complaint = stack.session.scalars(
        select(ConsentEvent).where(
            ConsentEvent.contact_id == fbl_contact.id, ConsentEvent.action == "withdraw"
        )
    ).all()
    assert [(e.source, e.mechanism, e.channel) for e in complaint] == [("complaint", "complaint", "email")]
    assert complaint[0].evidence == {"report_id": "<arf-20261205170210-9a8b7c6d@arf.mail.example.com>"}
    assert after["feedback"] == 3 and after["audit"] == 3
    stack.session.commit()

    # A forged token, a genuine token of a delivery that does not exist, and the same DSN again.
    # The forgery names another delivery under the hard bounce's genuine signature.
    signature = verp.token(settings, hard.id).split(".")[1]
    forged = f"bounces+{verp.token(settings, fbl.id).split('.')[0]}.{signature}@{BOUNCE_DOMAIN}"
    unknown = verp.envelope_sender(settings, 10**9)
    assert unknown is not None
    _smtp(bounce_server, forged, _report("postfix_hard.eml", forged).replace(b"20261205091231", b"1"))
    _smtp(bounce_server, unknown, _report("gmail_hard.eml", unknown))
    _smtp(bounce_server, hard_path, _report("postfix_hard.eml", hard_path))
    assert _state(stack) == after


def test_the_imap_door_reads_each_message_once_and_files_it(
    verp_stack: Stack, imap_server: DovecotServer, bounce_server: int
) -> None:
    stack = verp_stack
    sent = _send_campaign(stack, eligible=2)
    (_, delivery, path), (_, _, other_path) = sent.values()
    with imap_server.mailbox() as box:
        box.append(_report("gmail_hard.eml", path), "INBOX")
        box.append(_report("auto_reply.eml", other_path), "INBOX")
    env = {**stack.env, "BOUNCE_IMAP_URL": imap_server.url}

    first = subprocess.run(
        [SENDER, "bounces", "fetch"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["messages=2", "applied=1", "duplicate=0", "unknown=0", "ignored=1"]
    assert PASSWORD not in first.stdout + first.stderr
    stack.session.expire_all()
    assert stack.session.get(Delivery, delivery.id).status == "bounced"  # type: ignore[union-attr]
    stack.session.commit()
    with imap_server.mailbox() as box:
        assert box.uids() == []
        box.folder.set("Processed")
        assert len(box.uids()) == 2
        # The same DSN reaches the SMTP door too, and the IMAP door again: neither changes anything.
        box.folder.set("INBOX")
        box.append(_report("gmail_hard.eml", path), "INBOX")
    state = _state(stack)
    _smtp(bounce_server, path, _report("gmail_hard.eml", path))
    again = subprocess.run(
        [SENDER, "bounces", "fetch"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == ["messages=1", "applied=0", "duplicate=1", "unknown=0", "ignored=0"]
    assert _state(stack) == state

    # With BOUNCE_IMAP_PROCESSED empty, a read message is deleted instead of filed.
    with imap_server.mailbox() as box:
        box.append(_report("postfix_soft_expired.eml", other_path), "INBOX")
    deleted = subprocess.run(
        [SENDER, "bounces", "fetch"],
        cwd=ROOT,
        env={**env, "BOUNCE_IMAP_PROCESSED": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert deleted.stdout.split()[:2] == ["messages=1", "applied=1"]
    with imap_server.mailbox() as box:
        assert box.uids() == []
        box.folder.set("Processed")
        assert len(box.uids()) == 3


def test_fetch_without_a_mailbox_says_which_setting_is_missing(verp_stack: Stack) -> None:
    done = subprocess.run(
        [SENDER, "bounces", "fetch"],
        cwd=ROOT,
        env=verp_stack.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "BOUNCE_IMAP_URL" in done.stderr


def test_the_lmtp_door_answers_each_recipient_and_applies_the_report(verp_stack: Stack) -> None:
    stack = verp_stack
    ((contact, delivery, path),) = _send_campaign(stack, eligible=1).values()
    with _serving(stack.env, "--lmtp") as port, smtplib.LMTP("127.0.0.1", port) as client:
        client.ehlo("mx.exemple.test")  # LMTP: sent as LHLO
        client.mail("")
        for rcpt in (path, "postmaster@exemple.test"):
            assert client.rcpt(rcpt)[0] == 250
        # LMTP answers DATA once per recipient (smtplib reads the first; the second follows it).
        first = client.data(_report("office365_ndr.eml", path))
        second = client.getreply()
    assert (first[0], second[0]) == (250, 250)
    stack.session.expire_all()
    assert stack.session.get(Delivery, delivery.id).status == "bounced"  # type: ignore[union-attr]
    assert (
        stack.session.scalar(select(Suppression.reason).where(Suppression.address_hash == contact.email_hash))
        == "hard_bounce"
    )
    stack.session.commit()
