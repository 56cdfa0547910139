"""The privacy portal through HTTP: opening, single-use tokens, expiry, and the preference centre."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import AuditEvent, ConsentEvent, UsedToken
from sender.runtime import Runtime
from sender.services.consent import gate
from sender.services.consent.links import portal_token, signup_token, unsubscribe_token
from sender.tokens import KINDS
from tests.factories import ContactFactory
from tests.public.conftest import Portal, World, body_of, link_in, outbox, private, refusal, run_jobs


def _expired_portal_token(runtime: Runtime, public_id: str) -> str:
    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - runtime.settings.portal_link_ttl - 60)

    serializer = URLSafeTimedSerializer(
        list(runtime.settings.secret_keys), salt=KINDS["portal"].salt, signer=Old
    )
    return str(serializer.dumps({"c": public_id, "j": "abcdefghijkl"}))


def test_the_link_opens_a_page_with_a_button_and_no_data(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    before = db_session.scalar(select(func.count(UsedToken.jti)))
    response = client.get(world.link)

    assert response.status_code == 200
    private(response)
    body = response.get_data(as_text=True)
    assert "camille.martin" not in body and "Camille" not in body
    assert 'action="/portal"' in body
    # A mail scanner fetching the link spends nothing.
    assert db_session.scalar(select(func.count(UsedToken.jti))) == before


def test_opening_shows_own_data_and_choices(portal: Portal, world: World) -> None:
    private(portal.last)
    html = portal.html
    assert "camille.martin@example.org" in html and "Camille" in html
    # The wording she agreed to, and when.
    assert "Oui, envoyez-moi la lettre mensuelle." in html and "depuis le" in html
    # No phone on file: no SMS column.
    assert "SMS" not in html
    # A legitimate-interest purpose shows its basis and the right to object, never "no agreement".
    assert "notre intérêt légitime" in html and "M'opposer" in html
    assert html.count("Pas d'accord donné") == 1  # only the partner offers


def test_a_token_acts_once_and_every_bad_token_gets_one_page(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    landing = client.get(world.link).get_data(as_text=True)
    token = landing.split('name="token" value="')[1].split('"')[0]
    assert client.post("/portal", data={"token": token, "action": "open"}).status_code == 200

    erased = ContactFactory(status="erased", email=None, email_hash=None)
    db_session.commit()
    tokens = runtime.tokens
    bad = [
        token,  # spent
        _expired_portal_token(runtime, world.contact.public_id),
        unsubscribe_token(tokens, world.contact.public_id, world.news.id, "email", None),  # wrong kind
        signup_token(tokens, world.contact.public_id, []),  # wrong kind
        portal_token(tokens, "nobody-has-this-id"),
        portal_token(tokens, erased.public_id),
        token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "not-a-token",
    ]
    responses = []
    for value in bad:
        responses.append(client.get(f"/p/{value}"))
        responses.append(client.post("/portal", data={"token": value, "action": "export_json"}))
    assert {r.status_code for r in responses} == {410}
    assert len({refusal(r) for r in responses}) == 1
    for response in responses:
        private(response)
    page = responses[0].get_data(as_text=True)
    assert 'action="/access"' in page  # the expired page offers a new link
    assert "camille" not in page


def test_withdraw_one_purpose(portal: Portal, db_session: Session, world: World) -> None:
    response = portal.act("withdraw", purpose=str(world.news.id), channel="email")

    assert response.status_code == 200
    event = db_session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.source, event.mechanism) == ("withdraw", "portal", "form")
    assert gate.check(db_session, world.contact.id, world.news.id, "email").reason == "withdrawn"
    assert "votre accord est retiré" in portal.html


def test_object_to_a_legitimate_interest_purpose(portal: Portal, db_session: Session, world: World) -> None:
    portal.act("withdraw", purpose=str(world.service.id), channel="email")

    event = db_session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert event is not None and (event.purpose_id, event.mechanism) == (world.service.id, "objection")
    assert "Opposition enregistrée" in portal.html


def test_give_consent_again_with_proof(portal: Portal, db_session: Session, world: World) -> None:
    portal.act("withdraw", purpose=str(world.news.id), channel="email")
    response = portal.act("grant", purpose=str(world.news.id), channel="email", wording_version="1")

    assert response.status_code == 200
    event = db_session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.source, event.mechanism) == ("grant", "portal", "button")
    assert event.wording_id == world.news_wording.id
    assert gate.check(db_session, world.contact.id, world.news.id, "email").eligible


def test_grant_for_a_double_opt_in_purpose_waits_for_the_emailed_link(
    app, client: FlaskClient, portal: Portal, runtime: Runtime, db_session: Session, world: World
) -> None:
    portal.act("grant", purpose=str(world.offers.id), channel="email", wording_version="1")
    assert "Presque fini" in portal.html
    assert gate.check(db_session, world.contact.id, world.offers.id, "email").reason == "pending_confirmation"

    assert run_jobs(app, runtime) == 1
    (mail,) = outbox(runtime)
    assert mail["To"] == "camille.martin@example.org"
    link = link_in(mail, "/signup/confirm/")
    assert client.post(link).status_code == 200
    db_session.expire_all()
    assert gate.check(db_session, world.contact.id, world.offers.id, "email").eligible
    last = db_session.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
    assert last is not None and (last.mechanism, last.source) == ("double_opt_in", "double_opt_in")
    # A system email, not marketing: no list headers, nothing but the link and who we are.
    assert "List-Unsubscribe" not in mail and mail["Auto-Submitted"] == "auto-generated"
    assert "Confirmez" in body_of(mail) or "confirmer" in body_of(mail)


def test_stop_all_is_shown_with_how_to_lift_it(portal: Portal, db_session: Session, world: World) -> None:
    portal.act("stop_all")
    html = portal.html
    assert "Lever mon opposition" in html and "Arrêter toute prospection" not in html
    assert gate.check(db_session, world.contact.id, world.news.id, "email").reason == "suppressed"
    # Giving consent again is refused while the objection stands.
    refused = portal.act("grant", purpose=str(world.news.id), channel="email", wording_version="1")
    assert refused.status_code == 400

    portal.act("lift_objection")
    assert "Arrêter toute prospection" in portal.html
    assert gate.check(db_session, world.contact.id, world.news.id, "email").reason == "withdrawn"
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert "consent.objection_lift" in actions


@pytest.mark.parametrize(
    "form",
    [
        {"action": "withdraw", "purpose": "999999", "channel": "email"},
        # Larger than any id column: a 4xx, not a database error.
        {"action": "withdraw", "purpose": "99999999999999999999", "channel": "email"},
        {"action": "withdraw", "purpose": "-1", "channel": "email"},
        {"action": "withdraw", "purpose": "x", "channel": "email"},
        {"action": "grant", "channel": "sms", "wording_version": "1"},  # no phone on file
        {"action": "erase"},  # without the confirmation box
        {"action": "dance"},
    ],
)
def test_malformed_forms_get_a_precise_400_and_spend_nothing(
    portal: Portal, runtime: Runtime, db_session: Session, world: World, form: dict[str, str]
) -> None:
    before = db_session.scalar(select(func.count(ConsentEvent.id)))
    token = portal.tokens[0]
    response = portal.act(**form)

    assert response.status_code == 400
    assert 'role="alert"' in portal.html
    assert db_session.scalar(select(func.count(ConsentEvent.id))) == before
    # Nothing happened, so the token was not spent.
    assert db_session.get(UsedToken, runtime.tokens.loads("portal", token)["j"]) is None
