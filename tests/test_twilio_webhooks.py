"""Twilio webhooks: signatures computed with the SDK's RequestValidator, keywords in English and French,
START, HELP, and status callbacks that never move backwards (R61-R66, R68)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from sender import create_app
from sender.addresses import address_hash
from sender.config_sms import OPT_OUT_KEYWORDS
from sender.models import ConsentEvent, Contact, Delivery, InboundSms, Purpose, Suppression
from sender.runtime import Runtime
from sender.services.consent import gate
from sender.services.consent.sms_replies import classify
from tests.campaign_helpers import grant
from tests.factories import TEST_HASH_KEY, CampaignFactory, ContactFactory, PurposeFactory, WordingFactory
from tests.sms_fixtures import STOP_TEXT, sms_app, sms_client, sms_runtime, sms_settings, twilio, with_sms
from tests.twilio_server import TwilioTestServer

__all__ = ["sms_app", "sms_client", "sms_runtime", "sms_settings", "twilio"]

PHONE = "+33612345678"
SHORT_CODE = "36123"
OTHER_NUMBER = "+33186950000"
PUBLIC = "https://sender.test"
INBOUND = "/webhooks/twilio/inbound"
STATUS = "/webhooks/twilio/status"


def post(client: FlaskClient, twilio: TwilioTestServer, path: str, params: dict[str, str], **kw: Any) -> Any:
    """POST `params` signed by Twilio for the public URL of `path`."""
    headers = twilio.signed(f"{PUBLIC}{path}", params)
    return client.post(path, data=params, headers=headers, **kw)


def reply(
    client: FlaskClient, twilio: TwilioTestServer, body: str, sender: str = PHONE, to: str = SHORT_CODE
) -> Any:
    return post(client, twilio, INBOUND, twilio.inbound(sender, to, body))


@pytest.fixture
def subscriber(db_session: Session) -> tuple[Contact, list[Purpose]]:
    """A contact granted SMS and email for two purposes."""
    contact = ContactFactory(phone=PHONE)
    purposes = []
    for _ in range(2):
        purpose = PurposeFactory()
        WordingFactory(purpose=purpose)
        grant(db_session, contact, purpose, channel="sms")
        grant(db_session, contact, purpose, channel="email")
        purposes.append(purpose)
    db_session.commit()
    return contact, purposes


# Signatures (R61)


def test_a_correctly_signed_request_is_accepted(sms_client: FlaskClient, twilio: TwilioTestServer) -> None:
    response = reply(sms_client, twilio, "Hello")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"


@pytest.mark.parametrize("path", [INBOUND, STATUS])
def test_a_tampered_parameter_is_refused(
    sms_client: FlaskClient, twilio: TwilioTestServer, path: str
) -> None:
    params = twilio.inbound(PHONE, SHORT_CODE, "Hello")
    headers = twilio.signed(f"{PUBLIC}{path}", params)
    params["Body"] = "STOP"

    assert sms_client.post(path, data=params, headers=headers).status_code == 403


def test_a_missing_signature_a_wrong_token_or_another_url_is_refused(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session
) -> None:
    params = twilio.inbound(PHONE, SHORT_CODE, "STOP")
    forged = RequestValidator("not-the-auth-token").compute_signature(f"{PUBLIC}{INBOUND}", params)
    elsewhere = twilio.signed(f"https://attacker.test{INBOUND}", params)

    assert sms_client.post(INBOUND, data=params).status_code == 403
    assert sms_client.post(INBOUND, data=params, headers={"X-Twilio-Signature": forged}).status_code == 403
    assert sms_client.post(INBOUND, data=params, headers=elsewhere).status_code == 403
    assert db_session.scalars(select(InboundSms)).all() == []


def test_without_an_auth_token_every_webhook_is_refused(
    client: FlaskClient, twilio: TwilioTestServer
) -> None:
    assert reply(client, twilio, "STOP").status_code == 403


def test_behind_a_proxy_the_public_url_is_what_is_checked(
    sms_client: FlaskClient, twilio: TwilioTestServer
) -> None:
    # The proxy terminates TLS and calls the app on plain HTTP with its own host name.
    params = twilio.inbound(PHONE, SHORT_CODE, "Hello")
    headers = twilio.signed(f"{PUBLIC}{INBOUND}", params)

    response = sms_client.post(INBOUND, data=params, headers=headers, base_url="http://10.0.0.7:8000")

    assert response.status_code == 200


def test_with_proxyfix_the_forwarded_url_is_accepted_too(
    sms_runtime: Runtime, twilio: TwilioTestServer
) -> None:
    runtime = Runtime(
        sms_runtime.settings.with_overrides(public_base_url="http://localhost:5000"),
        sms_runtime.engine,
        sms_runtime.Session,
        sms_runtime.tokens,
    )
    app: Flask = create_app({"TESTING": True}, runtime=runtime)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    params = twilio.inbound(PHONE, SHORT_CODE, "Hello")
    headers = {**twilio.signed(f"https://hooks.example.org{INBOUND}?v=1", params)}
    headers |= {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.org"}

    response = app.test_client().post(f"{INBOUND}?v=1", data=params, headers=headers)

    assert response.status_code == 200


# Keywords (R62, R63, R65, R68)


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("STOP", "opt_out"),
        ("stop", "opt_out"),
        (" Stop. ", "opt_out"),
        ("STOPALL", "opt_out"),
        ("UNSUBSCRIBE", "opt_out"),
        ("CANCEL", "opt_out"),
        ("END", "opt_out"),
        ("QUIT", "opt_out"),
        ("REVOKE", "opt_out"),
        ("OPTOUT", "opt_out"),
        ("ARRET", "opt_out"),
        ("ARRÊT", "opt_out"),
        ("arrêt", "opt_out"),
        ("DESABONNER", "opt_out"),
        ("désabonner", "opt_out"),
        ("stop svp", "near_miss"),
        ("stop svp merci", "near_miss"),
        ("Merci d'arrêter", "near_miss"),
        ("arrete de m'ecrire", "near_miss"),
        ("please unsubscribe me", "near_miss"),
        ("I want to cancel my order", "other"),
        ("START", "opt_in"),
        ("unstop", "opt_in"),
        ("HELP", "help"),
        ("info", "help"),
        ("CONTACT", "help"),
        ("Bonjour", "other"),
    ],
)
def test_keyword_table_in_english_and_french(body: str, kind: str) -> None:
    assert classify(body, OPT_OUT_KEYWORDS).kind == kind


@pytest.mark.parametrize("keyword", ["STOP", "ARRET", "ARRÊT", "desabonner", "STOPALL", "QUIT"])
def test_an_opt_out_keyword_withdraws_sms_consent_for_every_purpose_with_the_sid_as_proof(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, subscriber: Any, keyword: str
) -> None:
    contact, purposes = subscriber
    params = twilio.inbound(PHONE, SHORT_CODE, keyword)

    response = post(sms_client, twilio, INBOUND, params)

    assert response.status_code == 200
    assert "votre demande est prise en compte" in response.get_data(as_text=True)
    for purpose in purposes:
        assert gate.check(db_session, contact.id, purpose.id, "sms").reason == "suppressed"
        assert gate.check(db_session, contact.id, purpose.id, "email").eligible  # email untouched
    events = db_session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == contact.id, ConsentEvent.action == "withdraw")
    ).all()
    assert {e.purpose_id for e in events} == {p.id for p in purposes}
    assert {(e.channel, e.source, e.mechanism) for e in events} == {("sms", "sms_keyword", "sms_keyword")}
    assert {e.evidence["request_id"] for e in events} == {params["MessageSid"]}


def test_a_stop_to_one_number_blocks_sends_from_every_other(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, subscriber: Any
) -> None:
    contact, purposes = subscriber
    reply(sms_client, twilio, "STOP", to=OTHER_NUMBER)

    # Whatever number a campaign would use, the contact is now refused on SMS.
    assert (
        db_session.scalar(
            select(Suppression.reason).where(
                Suppression.address_hash == contact.phone_hash, Suppression.channel == "sms"
            )
        )
        == "sms_stop"
    )
    assert not gate.check(db_session, contact.id, purposes[0].id, "sms").eligible


def test_a_stop_from_an_unknown_number_still_suppresses_it(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session
) -> None:
    reply(sms_client, twilio, "STOP", sender="+33698765432")

    digest = address_hash(TEST_HASH_KEY, "+33698765432")
    assert db_session.scalar(select(Suppression.channel).where(Suppression.address_hash == digest)) == "sms"


def test_the_same_message_twice_is_applied_once(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, subscriber: Any
) -> None:
    _contact, purposes = subscriber
    params = twilio.inbound(PHONE, SHORT_CODE, "STOP")

    first = post(sms_client, twilio, INBOUND, params)
    second = post(sms_client, twilio, INBOUND, params)

    assert first.get_data() == second.get_data()
    count = len(db_session.scalars(select(ConsentEvent).where(ConsentEvent.action == "withdraw")).all())
    assert count == len(purposes)
    assert len(db_session.scalars(select(InboundSms)).all()) == 1


def test_a_near_miss_withdraws_by_default(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, subscriber: Any
) -> None:
    contact, purposes = subscriber

    reply(sms_client, twilio, "stop svp merci")

    assert gate.check(db_session, contact.id, purposes[0].id, "sms").reason == "suppressed"
    row = db_session.scalars(select(InboundSms)).one()
    assert (row.kind, row.action, row.body) == ("near_miss", "withdrawn", None)


def test_a_near_miss_can_wait_for_review_instead(
    sms_runtime: Runtime, twilio: TwilioTestServer, db_session: Session, subscriber: Any
) -> None:
    contact, purposes = subscriber
    settings = with_sms(sms_runtime.settings, twilio, SMS_NEAR_MISS_ACTION="review")
    runtime = Runtime(settings, sms_runtime.engine, sms_runtime.Session, sms_runtime.tokens)
    client = create_app({"TESTING": True}, runtime=runtime).test_client()

    reply(client, twilio, "stop svp merci")

    assert gate.check(db_session, contact.id, purposes[0].id, "sms").eligible
    row = db_session.scalars(select(InboundSms)).one()
    assert (row.kind, row.action, row.body, row.contact_id) == (
        "near_miss",
        "flagged",
        "stop svp merci",
        contact.id,
    )


def test_a_flagged_reply_is_listed_and_a_person_decides(
    sms_runtime: Runtime,
    twilio: TwilioTestServer,
    db_session: Session,
    subscriber: Any,
    api_user: Any,
    api_headers: dict[str, str],
) -> None:
    contact, purposes = subscriber
    settings = with_sms(sms_runtime.settings, twilio, SMS_NEAR_MISS_ACTION="review")
    runtime = Runtime(settings, sms_runtime.engine, sms_runtime.Session, sms_runtime.tokens)
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    reply(client, twilio, "stop svp merci")
    reply(client, twilio, "Bonjour")

    flagged = client.get("/api/v1/sms/replies?action=flagged", headers=api_headers).get_json()["items"]
    assert [(r["contact"], r["kind"], r["body"]) for r in flagged] == [
        (contact.public_id, "near_miss", "stop svp merci")
    ]
    history = client.get(f"/api/v1/sms/replies?contact={contact.public_id}", headers=api_headers).get_json()
    assert [r["kind"] for r in history["items"]] == ["other", "near_miss"]

    path = f"/api/v1/sms/replies/{flagged[0]['id']}/review"
    decided = client.post(path, json={"decision": "withdraw"}, headers=api_headers)

    assert decided.status_code == 200
    assert (decided.get_json()["action"], decided.get_json()["body"]) == ("withdrawn", None)
    assert decided.get_json()["reviewed_at"] is not None
    assert gate.check(db_session, contact.id, purposes[0].id, "sms").reason == "suppressed"
    events = db_session.scalars(select(ConsentEvent).where(ConsentEvent.action == "withdraw")).all()
    assert {(e.channel, e.actor) for e in events} == {("sms", f"user:{api_user.id}")}
    assert client.post(path, json={"decision": "dismiss"}, headers=api_headers).status_code == 409
    assert client.post(path, json={"decision": "maybe"}, headers=api_headers).status_code == 422


def test_a_dismissed_reply_changes_nothing_and_forgets_its_text(
    sms_runtime: Runtime,
    twilio: TwilioTestServer,
    db_session: Session,
    subscriber: Any,
    api_headers: dict[str, str],
) -> None:
    contact, purposes = subscriber
    settings = with_sms(sms_runtime.settings, twilio, SMS_NEAR_MISS_ACTION="review")
    runtime = Runtime(settings, sms_runtime.engine, sms_runtime.Session, sms_runtime.tokens)
    client = create_app({"TESTING": True}, runtime=runtime).test_client()
    reply(client, twilio, "ne stop surtout pas !")
    (row,) = client.get("/api/v1/sms/replies?action=flagged", headers=api_headers).get_json()["items"]

    decided = client.post(
        f"/api/v1/sms/replies/{row['id']}/review", json={"decision": "dismiss"}, headers=api_headers
    )

    assert (decided.get_json()["action"], decided.get_json()["body"]) == ("dismissed", None)
    assert gate.check(db_session, contact.id, purposes[0].id, "sms").eligible


def test_start_lifts_the_block_but_grants_no_marketing_consent(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, subscriber: Any
) -> None:
    contact, purposes = subscriber
    reply(sms_client, twilio, "STOP")
    events_after_stop = len(db_session.scalars(select(ConsentEvent)).all())

    response = reply(sms_client, twilio, "START")

    assert response.status_code == 200
    assert (
        db_session.scalars(select(Suppression).where(Suppression.address_hash == contact.phone_hash)).all()
        == []
    )
    assert len(db_session.scalars(select(ConsentEvent)).all()) == events_after_stop
    assert gate.check(db_session, contact.id, purposes[0].id, "sms").reason == "withdrawn"
    # A new grant, with its own proof, is what brings marketing back.
    grant(db_session, contact, purposes[0], channel="sms")
    assert gate.check(db_session, contact.id, purposes[0].id, "sms").eligible


def test_start_never_lifts_an_erasure_or_a_bounce(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session
) -> None:
    digest = address_hash(TEST_HASH_KEY, PHONE)
    db_session.add(Suppression(address_hash=digest, channel="sms", reason="erased"))
    db_session.commit()

    reply(sms_client, twilio, "START")

    assert db_session.scalar(select(Suppression.reason).where(Suppression.address_hash == digest)) == "erased"


@pytest.mark.parametrize("keyword", ["HELP", "INFO", "CONTACT"])
def test_help_answers_with_the_organisation_identity_and_contact(
    sms_client: FlaskClient, twilio: TwilioTestServer, keyword: str
) -> None:
    text = reply(sms_client, twilio, keyword).get_data(as_text=True)

    assert "<Message>" in text
    for expected in ("Exemple SAS", "1 rue de la Paix", "contact@exemple.test", STOP_TEXT):
        assert expected in text


def test_an_ordinary_reply_changes_nothing_and_keeps_no_text(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, subscriber: Any
) -> None:
    contact, purposes = subscriber

    text = reply(sms_client, twilio, "Merci, à samedi !").get_data(as_text=True)

    assert "<Message>" not in text
    assert gate.check(db_session, contact.id, purposes[0].id, "sms").eligible
    row = db_session.scalars(select(InboundSms)).one()
    assert (row.kind, row.action, row.body) == ("other", "none", None)


# Status callbacks (R66)


@pytest.fixture
def sent_delivery(db_session: Session, subscriber: Any) -> Delivery:
    contact, purposes = subscriber
    campaign = CampaignFactory(purpose_id=purposes[0].id, channel="sms", status="sending")
    row = Delivery(campaign_id=campaign.id, contact_id=contact.id, status="sent", provider_id="SM" + "1" * 32)
    db_session.add(row)
    db_session.commit()
    return row


def callback(
    client: FlaskClient, twilio: TwilioTestServer, delivery: Delivery, status: str, **kw: Any
) -> Any:
    assert delivery.provider_id
    return post(
        client,
        twilio,
        f"{STATUS}?d={delivery.id}",
        twilio.status_callback(delivery.provider_id, status, **kw),
    )


def provider_status(db_session: Session, delivery: Delivery) -> str | None:
    db_session.refresh(delivery)
    return delivery.provider_status


def test_status_moves_forward_and_a_late_sent_after_delivered_changes_nothing(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, sent_delivery: Delivery
) -> None:
    for status in ("sending", "sent", "delivered"):
        assert callback(sms_client, twilio, sent_delivery, status).status_code == 204
        assert provider_status(db_session, sent_delivery) == status

    for late in ("sent", "sending", "queued", "delivered", "failed"):
        assert callback(sms_client, twilio, sent_delivery, late).status_code == 204
        assert provider_status(db_session, sent_delivery) == "delivered"

    callback(sms_client, twilio, sent_delivery, "read")
    assert provider_status(db_session, sent_delivery) == "read"
    callback(sms_client, twilio, sent_delivery, "delivered")
    assert provider_status(db_session, sent_delivery) == "read"


def test_a_final_failure_keeps_its_error_and_21610_suppresses(
    sms_client: FlaskClient,
    twilio: TwilioTestServer,
    db_session: Session,
    sent_delivery: Delivery,
    subscriber: Any,
) -> None:
    contact, _ = subscriber

    callback(sms_client, twilio, sent_delivery, "undelivered", error_code=21610)

    db_session.refresh(sent_delivery)
    assert (sent_delivery.provider_status, sent_delivery.last_error) == ("undelivered", "twilio 21610")
    assert (
        db_session.scalar(select(Suppression.reason).where(Suppression.address_hash == contact.phone_hash))
        == "carrier_opt_out"
    )


def test_a_callback_naming_another_message_changes_nothing(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, sent_delivery: Delivery
) -> None:
    params = twilio.status_callback("SM" + "9" * 32, "delivered")

    post(sms_client, twilio, f"{STATUS}?d={sent_delivery.id}", params)

    assert provider_status(db_session, sent_delivery) is None


def test_an_unsigned_status_callback_is_refused(
    sms_client: FlaskClient, twilio: TwilioTestServer, db_session: Session, sent_delivery: Delivery
) -> None:
    assert sent_delivery.provider_id
    params = twilio.status_callback(sent_delivery.provider_id, "delivered")

    assert sms_client.post(f"{STATUS}?d={sent_delivery.id}", data=params).status_code == 403
    assert provider_status(db_session, sent_delivery) is None
