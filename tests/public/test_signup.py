"""Sign-up with double opt-in through HTTP: form and JSON, the confirmation email, confirm, purge."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.db import utcnow
from sender.models import ConsentEvent, Contact, Suppression
from sender.runtime import Runtime
from sender.services.consent import gate, signup
from tests.public.conftest import World, body_of, link_in, outbox, private, refusal, run_jobs


def _contact(session: Session, email: str) -> Contact | None:
    session.expire_all()
    return session.scalar(select(Contact).where(Contact.email == email))


def test_the_snippet_has_one_unticked_box_per_consent_purpose(client: FlaskClient, world: World) -> None:
    snippet = client.get("/signup/snippet").get_data(as_text=True)

    assert snippet.startswith("<form") and 'action="https://sender.test/signup"' in snippet
    assert snippet.count('type="checkbox"') == 2  # news and offers; the legitimate-interest one is not asked
    assert 'value="news:1"' in snippet and 'value="offers:1"' in snippet
    assert "checked" not in snippet
    assert "Oui, envoyez-moi la lettre mensuelle." in snippet
    assert 'name="website"' in snippet  # the honeypot


def test_form_sign_up_stays_pending_until_the_emailed_link_is_used(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    response = client.post("/signup", data={"email": "Lou@Example.org", "consent": ["news:1", "offers:1"]})

    assert response.status_code == 200
    contact = _contact(db_session, "lou@example.org")
    assert contact is not None and contact.status == "pending"
    assert gate.check(db_session, contact.id, world.news.id, "email").reason == "pending_confirmation"

    run_jobs(app, runtime)
    (mail,) = outbox(runtime)
    assert mail["To"] == "lou@example.org" and "List-Unsubscribe" not in mail
    link = link_in(mail, "/signup/confirm/")
    page = client.get(link)
    private(page)
    assert _contact(db_session, "lou@example.org").status == "pending"  # type: ignore[union-attr]  # GET changes nothing

    assert client.post(link).status_code == 200
    contact = _contact(db_session, "lou@example.org")
    assert contact is not None and contact.status == "active"
    for purpose in (world.news, world.offers):
        assert gate.check(db_session, contact.id, purpose.id, "email").eligible
    events = db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)).all()
    assert [(e.action, e.mechanism) for e in events] == [
        ("request", "checkbox"), ("request", "checkbox"), ("grant", "double_opt_in"), ("grant", "double_opt_in"),
    ]  # fmt: skip
    # The link works once.
    assert client.post(link).status_code == 410


def test_json_sign_up_and_resubmission_never_downgrades(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    # The portal person already agreed to the newsletter; someone submits her address again.
    body = {"email": "camille.martin@example.org", "consents": [{"purpose": "news", "wording_version": 1}]}
    response = client.post("/signup", json=body)

    assert response.status_code == 202
    assert gate.check(db_session, world.contact.id, world.news.id, "email").eligible
    assert run_jobs(app, runtime) == 1  # the same job as for anyone (its time tells nothing)...
    assert outbox(runtime) == []  # ...finds nothing to confirm: no email
    # A new purpose is asked without touching the confirmed one.
    client.post("/signup", json={**body, "consents": [{"purpose": "offers", "wording_version": 1}]})
    assert gate.check(db_session, world.contact.id, world.news.id, "email").eligible
    assert gate.check(db_session, world.contact.id, world.offers.id, "email").reason == "pending_confirmation"
    assert _contact(db_session, "camille.martin@example.org").status == "active"  # type: ignore[union-attr]


def test_malformed_sign_ups_get_precise_errors(
    client: FlaskClient, db_session: Session, world: World
) -> None:
    cases = [
        ({"email": "nope", "consents": [{"purpose": "news", "wording_version": 1}]}, "email"),
        ({"email": "a@example.org", "consents": []}, "consents"),
        ({"email": "a@example.org", "consents": [{"purpose": "news", "wording_version": 9}]}, "consents[0]"),
        (
            {"email": "a@example.org", "consents": [{"purpose": "service", "wording_version": 1}]},
            "consents[0]",
        ),
        (
            {"email": "a@example.org", "consents": [{"purpose": "news", "wording_version": 1}], "extra": 1},
            "extra",
        ),
    ]
    for body, field in cases:
        response = client.post("/signup", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["fields"]
    form = client.post("/signup", data={"email": "a@example.org", "consent": "news"})
    assert form.status_code == 400 and 'role="alert"' in form.get_data(as_text=True)
    assert _contact(db_session, "a@example.org") is None


def test_the_honeypot_answers_alike_and_records_nothing(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    bot = client.post("/signup", data={"email": "bot@example.org", "consent": "news:1", "website": "x"})
    human = client.post("/signup", data={"email": "human@example.org", "consent": "news:1"})

    assert bot.get_data() == human.get_data()
    assert _contact(db_session, "bot@example.org") is None
    assert run_jobs(app, runtime) == 1


def test_unconfirmed_sign_ups_are_purged_after_the_ttl(
    client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    client.post("/signup", data={"email": "old@example.org", "consent": "news:1"})
    client.post("/signup", data={"email": "new@example.org", "consent": "news:1"})
    old = _contact(db_session, "old@example.org")
    assert old is not None
    db_session.execute(
        update(Contact).where(Contact.id == old.id).values(created_at=utcnow() - timedelta(days=8))
    )
    db_session.commit()

    assert signup.purge_unconfirmed(db_session, runtime.settings) == 1
    db_session.commit()
    assert _contact(db_session, "old@example.org") is None
    assert _contact(db_session, "new@example.org") is not None
    assert _contact(db_session, "camille.martin@example.org") is not None  # confirmed people stay
    assert db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == old.id)).all() == []


def test_an_english_sign_up_gets_an_english_confirmation(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World
) -> None:
    page = client.get("/signup", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Subscribe" in page
    client.post(
        "/signup", data={"email": "sam@example.org", "consent": "news:1"}, headers={"Accept-Language": "en"}
    )
    run_jobs(app, runtime)
    (mail,) = outbox(runtime)
    assert "Please confirm your subscription" in str(mail["Subject"])
    assert "open this link" in body_of(mail)


def test_bad_confirmation_links_get_the_same_page_as_bad_portal_links(
    client: FlaskClient, runtime: Runtime, world: World
) -> None:
    from sender.services.consent.links import portal_token, signup_token

    tokens = runtime.tokens
    answers = [
        client.get(f"/signup/confirm/{portal_token(tokens, world.contact.public_id)}"),  # wrong kind
        client.post(f"/signup/confirm/{signup_token(tokens, 'nobody-has-this-id', [1])}"),
        client.post("/signup/confirm/not-a-token"),
        client.get("/p/not-a-token"),
    ]
    assert {a.status_code for a in answers} == {410}
    assert len({refusal(a) for a in answers}) == 1


def test_one_address_gets_at_most_three_confirmation_emails_an_hour(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World
) -> None:
    for _ in range(4):
        assert (
            client.post("/signup", data={"email": "target@example.org", "consent": "news:1"}).status_code
            == 200
        )

    run_jobs(app, runtime)
    assert len(outbox(runtime)) == 3


def test_new_known_and_suppressed_addresses_cost_the_same_work(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session, world: World
) -> None:
    """Constant work: one confirmation job of the same kind per sign-up; the job alone knows who gets mail."""
    db_session.add(
        Suppression(
            address_hash=address_hash(runtime.settings.hash_key, "gone@example.org"),
            channel="email",
            reason="unsubscribe",
        )
    )
    db_session.commit()
    queue = runtime.queue("default")
    answers, kinds = [], []
    # New, known and confirmed (the world's person), suppressed.
    for email in ("new@example.org", "camille.martin@example.org", "gone@example.org"):
        before = set(queue.job_ids)
        body = {"email": email, "consents": [{"purpose": "news", "wording_version": 1}]}
        answers.append(client.post("/signup", json=body))
        (added,) = set(queue.job_ids) - before
        job = queue.fetch_job(added)
        assert job is not None
        kinds.append(job.func_name)
        assert "@" not in repr(job.args)  # ids only, never the address

    assert {a.status_code for a in answers} == {202} and len({a.get_data() for a in answers}) == 1
    assert kinds == ["sender.tasks.rights_jobs.send_signup_confirmation"] * 3
    run_jobs(app, runtime)
    assert [m["To"] for m in outbox(runtime)] == ["new@example.org"]
