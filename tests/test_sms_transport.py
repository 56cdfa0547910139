"""The real Twilio SDK against the local stand-in over HTTP: what is sent, and what each answer means."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from sender.channels.sms.twilio import OutgoingSms, TwilioTransport
from sender.config_sms import SmsSettings, load_sms_settings
from tests.twilio_server import TwilioTestServer

SERVICE = "MG" + "a" * 32


@pytest.fixture
def twilio() -> Iterator[TwilioTestServer]:
    """The stand-in, answering at once."""
    with TwilioTestServer(latency=0) as server:
        yield server


def settings_for(server: TwilioTestServer, **env: str) -> SmsSettings:
    return load_sms_settings({**server.env(), "TWILIO_MESSAGING_SERVICE_SID": SERVICE, **env}, "Exemple SAS")


def transport(server: TwilioTestServer, sleeps: list[float] | None = None, **env: str) -> TwilioTransport:
    return TwilioTransport(settings_for(server, **env), sleep=(sleeps if sleeps is not None else []).append)


def test_a_message_reaches_the_api_with_basic_auth_service_validity_and_callback(
    twilio: TwilioTestServer,
) -> None:
    sms = OutgoingSms("+33612345678", ("Bonjour",), validity_period=1800, status_callback="https://s.test/cb")

    outcome = transport(twilio).send(sms)

    assert outcome.result.outcome == "sent"
    assert outcome.status == "accepted"
    (received,) = twilio.received
    assert outcome.result.provider_id == received.sid
    assert received.params == {
        "To": "+33612345678",
        "Body": "Bonjour",
        "MessagingServiceSid": SERVICE,
        "ValidityPeriod": "1800",
        "StatusCallback": "https://s.test/cb",
    }


def test_a_from_number_is_used_when_there_is_no_messaging_service(twilio: TwilioTestServer) -> None:
    sms = settings_for(twilio, TWILIO_MESSAGING_SERVICE_SID="", TWILIO_FROM="36123")
    outcome = TwilioTransport(replace(sms, messaging_service_sid="")).send(
        OutgoingSms("+33612345678", ("Hi",))
    )

    assert outcome.status == "queued"
    assert twilio.received[0].params["From"] == "36123"
    assert "MessagingServiceSid" not in twilio.received[0].params


def test_a_wrong_auth_token_is_a_permanent_failure(twilio: TwilioTestServer) -> None:
    outcome = transport(twilio, TWILIO_AUTH_TOKEN="not-the-token").send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.result.outcome == "permanent"
    assert outcome.result.code == 20003
    assert twilio.received == []


def test_two_parts_are_two_messages_with_both_sids(twilio: TwilioTestServer) -> None:
    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("long body", "Exemple\nSTOP au 36123")))

    assert [r.body for r in twilio.received] == ["long body", "Exemple\nSTOP au 36123"]
    assert outcome.result.provider_id == ",".join(r.sid for r in twilio.received)


def test_21610_means_opted_out_and_is_not_retried(twilio: TwilioTestServer) -> None:
    twilio.fail("+33612345678", 21610)

    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.opted_out
    assert outcome.result.outcome == "permanent"
    assert len(twilio.received) == 1


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_invalid_or_non_mobile_number_is_permanent_and_invalid(
    twilio: TwilioTestServer, code: int
) -> None:
    twilio.fail("+33612345678", code)

    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("x",)))

    assert (outcome.result.outcome, outcome.result.code, outcome.result.address_invalid) == (
        "permanent",
        code,
        True,
    )
    assert not outcome.opted_out


@pytest.mark.parametrize("code", [20429, 30001])
def test_too_many_requests_and_queue_overflow_back_off_then_succeed(
    twilio: TwilioTestServer, code: int
) -> None:
    twilio.fail("+33612345678", code, times=2)
    sleeps: list[float] = []

    outcome = transport(twilio, sleeps).send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.result.outcome == "sent"
    assert sleeps == [0.25, 0.5]  # exponential
    assert [r.answered for r in twilio.received][-1] == 201


def test_a_lasting_429_ends_as_a_temporary_failure_after_the_backoff(twilio: TwilioTestServer) -> None:
    twilio.fail("+33612345678", 20429)
    sleeps: list[float] = []

    outcome = transport(twilio, sleeps).send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.result.outcome == "temporary"
    assert sleeps == [0.25, 0.5, 1.0, 2.0]
    assert len(twilio.received) == 5


def test_a_failing_mentions_sms_after_the_first_left_is_unknown_never_resent(
    twilio: TwilioTestServer,
) -> None:
    twilio.fail("+33612345678", 21610, after=1)

    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("body", "Exemple\nSTOP au 36123")))

    assert outcome.result.outcome_unknown
    assert [r.accepted for r in twilio.received] == [True, False]


def test_an_unreachable_api_is_a_temporary_failure() -> None:
    with TwilioTestServer(latency=0) as server:
        sms = settings_for(server)
    outcome = TwilioTransport(sms).send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.result.outcome == "temporary"


def test_send_many_keeps_calls_in_flight_together() -> None:
    with TwilioTestServer(latency=0.05) as server:
        client = transport(server, SMS_CONCURRENCY="10")
        messages = [OutgoingSms(f"+3361234{i:04d}", (f"m{i}",)) for i in range(30)]
        outcomes = client.send_many(messages)

    assert [o.result.outcome for o in outcomes] == ["sent"] * 30
    assert sorted(r.to for r in server.received) == sorted(m.to for m in messages)
    assert 2 < server.max_in_flight <= 10
