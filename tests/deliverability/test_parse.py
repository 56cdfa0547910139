"""Each sample report under tests/fixtures/bounces reads as what it is: its kind, its delivery, its code."""

from __future__ import annotations

from pathlib import Path

import pytest

from sender.config import Settings
from sender.config_deliverability import DeliverabilitySettings
from sender.enums import FeedbackKind
from sender.services.deliverability import intake, parse, verp

SAMPLES = Path(__file__).parent.parent / "fixtures" / "bounces"
DELIVERY = 4242
HARD, SOFT, COMPLAINT = FeedbackKind.HARD_BOUNCE, FeedbackKind.SOFT_BOUNCE, FeedbackKind.COMPLAINT

# file: (kind, status code) of its one report, or None when it reports nothing.
EXPECTED: dict[str, tuple[FeedbackKind, str] | None] = {
    "postfix_hard.eml": (HARD, "5.1.1"),
    "postfix_soft_expired.eml": (SOFT, "4.4.1"),
    "postfix_delayed.eml": None,
    "exim_hard.eml": (HARD, ""),
    "qmail_hard.eml": (HARD, ""),
    "exchange_legacy_ndr.eml": (HARD, ""),
    "office365_ndr.eml": (HARD, "5.1.10"),
    "gmail_hard.eml": (HARD, "5.1.1"),
    "gmail_over_quota.eml": (SOFT, "5.2.2"),
    "arf_abuse.eml": (COMPLAINT, "abuse"),
    "auto_reply.eml": None,
}


def with_verp(settings: Settings) -> Settings:
    """The test settings with BOUNCE_DOMAIN set."""
    return settings.with_overrides(
        deliverability=DeliverabilitySettings(bounce_domain="bounces.exemple.test")
    )


def sample(settings: Settings, name: str, delivery_id: int) -> bytes:
    """A sample report returned to the VERP address of `delivery_id`."""
    address = verp.envelope_sender(with_verp(settings), delivery_id)
    assert address is not None
    return (SAMPLES / name).read_bytes().replace(b"@@VERP@@", address.encode())


def test_every_sample_has_an_expectation() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_sample_reads_as_its_kind_for_its_delivery(settings: Settings, name: str) -> None:
    reports = intake.feedback_of(with_verp(settings), sample(settings, name, DELIVERY), "imap")

    expected = EXPECTED[name]
    if expected is None:
        assert reports == []
        return
    (report,) = reports
    assert (report.kind, report.detail, report.delivery_id, report.address) == (*expected, DELIVERY, None)
    assert report.report_id and "camille" not in report.report_id


def test_the_recipient_named_by_a_report_is_read(settings: Settings) -> None:
    for name, expected in EXPECTED.items():
        if expected is not None:
            (finding,) = parse.findings(parse.load(sample(settings, name, 1)))
            assert finding.recipient == "camille.martin@example.org", name


def test_a_forged_token_names_no_delivery_and_with_verp_on_no_address_either(settings: Settings) -> None:
    address = verp.envelope_sender(with_verp(settings), DELIVERY)
    assert address is not None
    forged = address.replace(verp.token(with_verp(settings), DELIVERY).split(".")[0], "1")
    data = (SAMPLES / "postfix_hard.eml").read_bytes().replace(b"@@VERP@@", forged.encode())

    (report,) = intake.feedback_of(with_verp(settings), data, "smtp")
    assert (report.delivery_id, report.address) == (None, None)
    # Without VERP (BOUNCE_DOMAIN unset), the failed recipient is matched by keyed hash instead.
    (legacy,) = intake.feedback_of(settings, data, "smtp")
    assert (legacy.delivery_id, legacy.address) == (None, "camille.martin@example.org")


def test_the_smtp_envelope_recipient_names_the_delivery_first(settings: Settings) -> None:
    data = (SAMPLES / "qmail_hard.eml").read_bytes().replace(b"@@VERP@@", b"postmaster@exemple.test")
    rcpt = verp.envelope_sender(with_verp(settings), 77)
    assert rcpt is not None

    (report,) = intake.feedback_of(with_verp(settings), data, "smtp", [rcpt])
    assert report.delivery_id == 77


def test_status_codes_read_as_hard_or_soft() -> None:
    assert parse.kind_of_status("5.1.1") == HARD
    assert parse.kind_of_status("5.2.1") == HARD
    assert parse.kind_of_status("5.2.2") == SOFT  # mailbox full
    assert parse.kind_of_status("5.7.1") == SOFT  # policy: our content or reputation, not the address
    assert parse.kind_of_status("4.4.7") == SOFT
    assert parse.kind_of_status("2.0.0") is None
    assert parse.kind_of_status("nonsense") is None
