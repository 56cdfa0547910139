"""The real Twilio SDK against the local stand-in over HTTP: what is sent, and what each answer means."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sender.channels.sms.twilio import OutgoingSms, TwilioTransport, make_client
from sender.config_sms import SmsSettings, load_sms_settings
from tests.twilio_server import TwilioTestServer

SERVICE = "MG" + "a" * 32


@pytest.fixture
def twilio() -> Iterator[TwilioTestServer]:
    """The stand-in, answering at once."""
    with TwilioTestServer(latency=0) as server:
        yield server


def settings_for(server: TwilioTestServer, **env: str) -> SmsSettings:
    return load_sms_settings(
        {**server.env(), "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "SMS_SENDER_NAME": "Exemple SAS", **env}
    )


def transport(server: TwilioTestServer, **env: str) -> TwilioTransport:
    return TwilioTransport(settings_for(server, **env))


def test_a_message_reaches_the_api_with_basic_auth_service_validity_and_callback(
    twilio: TwilioTestServer,
) -> None:
    sms = OutgoingSms("+33612345678", ("Bonjour",), validity_period=1800, status_callback="https://s.test/cb")

    outcome = transport(twilio).send(sms)

    assert outcome.outcome == "sent"
    (received,) = twilio.received
    assert outcome.provider_id == received.sid
    assert received.params == {
        "To": "+33612345678",
        "Body": "Bonjour",
        "MessagingServiceSid": SERVICE,
        "ValidityPeriod": "1800",
        "StatusCallback": "https://s.test/cb",
    }


def test_a_from_number_is_used_when_there_is_no_messaging_service(twilio: TwilioTestServer) -> None:
    sms = settings_for(twilio, TWILIO_MESSAGING_SERVICE_SID="", TWILIO_FROM="36123")
    outcome = TwilioTransport(sms).send(OutgoingSms("+33612345678", ("Hi",)))

    assert outcome.outcome == "sent"
    assert twilio.received[0].params["From"] == "36123"
    assert "MessagingServiceSid" not in twilio.received[0].params


def test_a_wrong_auth_token_is_a_permanent_failure(twilio: TwilioTestServer) -> None:
    outcome = transport(twilio, TWILIO_AUTH_TOKEN="not-the-token").send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.outcome == "permanent"
    assert outcome.code == 20003
    assert twilio.received == []


def test_two_parts_are_two_messages_with_both_sids(twilio: TwilioTestServer) -> None:
    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("long body", "Exemple\nSTOP au 36123")))

    assert [r.body for r in twilio.received] == ["long body", "Exemple\nSTOP au 36123"]
    assert outcome.provider_id == ",".join(r.sid for r in twilio.received)


def test_21610_is_a_permanent_failure_with_its_code(twilio: TwilioTestServer) -> None:
    twilio.fail("+33612345678", 21610)

    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("x",)))

    assert (outcome.outcome, outcome.code, outcome.address_invalid) == ("permanent", 21610, False)
    assert len(twilio.received) == 1


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_invalid_or_non_mobile_number_is_permanent_and_invalid(
    twilio: TwilioTestServer, code: int
) -> None:
    twilio.fail("+33612345678", code)

    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("x",)))

    assert (outcome.outcome, outcome.code, outcome.address_invalid) == ("permanent", code, True)
    assert "612345678" not in outcome.detail  # the detail is stored and logged: never the number


@pytest.mark.parametrize("code", [20429, 30001])
def test_too_many_requests_and_queue_overflow_are_temporary(twilio: TwilioTestServer, code: int) -> None:
    twilio.fail("+33612345678", code, times=1)

    first = transport(twilio).send(OutgoingSms("+33612345678", ("x",)))
    second = transport(twilio).send(OutgoingSms("+33612345678", ("x",)))

    assert (first.outcome, first.code) == ("temporary", code)
    assert second.outcome == "sent"


def test_a_failing_mentions_sms_after_the_first_left_is_unknown_never_resent(
    twilio: TwilioTestServer,
) -> None:
    twilio.fail("+33612345678", 21610, after=1)

    outcome = transport(twilio).send(OutgoingSms("+33612345678", ("body", "Exemple\nSTOP au 36123")))

    assert outcome.outcome_unknown
    assert outcome.provider_id == twilio.received[0].sid
    assert [r.accepted for r in twilio.received] == [True, False]


def test_an_unreachable_api_is_a_temporary_failure() -> None:
    with TwilioTestServer(latency=0) as server:
        sms = settings_for(server)
    outcome = TwilioTransport(sms).send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.outcome == "temporary"


def test_a_timeout_after_the_request_left_is_unknown() -> None:
    with TwilioTestServer(latency=1.0) as server:
        client = make_client(settings_for(server))
        client.http_client.timeout = 0.2  # type: ignore[attr-defined]
        outcome = TwilioTransport(settings_for(server), client).send(OutgoingSms("+33612345678", ("x",)))

    assert outcome.outcome_unknown
