"""The public "access my data" form: one answer for everyone, a link only to the address itself, rate limits."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender import create_app
from sender.runtime import Runtime
from sender.services.consent.links import unsubscribe_token
from tests.factories import ContactFactory
from tests.public.conftest import (
    CommitFailed,
    Portal,
    World,
    fail_commits,
    link_in,
    outbox,
    private,
    run_jobs,
)


def test_known_and_unknown_addresses_get_identical_answers(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World
) -> None:
    known = client.post("/access", data={"email": "Camille.Martin@example.org"})
    unknown = client.post("/access", data={"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 200
    assert known.get_data() == unknown.get_data()
    assert (
        dict(known.headers) == dict(unknown.headers)
        or known.headers["Content-Length"] == unknown.headers["Content-Length"]
    )
    private(known)

    assert run_jobs(app, runtime) == 1
    (mail,) = outbox(runtime)
    assert mail["To"] == "camille.martin@example.org"  # only to the address itself (R36)
    assert "72" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # The emailed link opens the portal.
    person = Portal(client, link_in(mail, "/p/"))
    assert "camille.martin@example.org" in person.html


def test_erased_pending_and_bot_requests_send_nothing(
    app: Flask, client: FlaskClient, runtime: Runtime, db_session: Session
) -> None:
    ContactFactory(email="pending@example.org", status="pending")
    ContactFactory(email="real@example.org")
    db_session.commit()
    reference = client.post("/access", data={"email": "nobody@example.org"}).get_data()

    for form in ({"email": "pending@example.org"}, {"email": "real@example.org", "website": "http://spam"}):
        response = client.post("/access", data=form)
        assert response.status_code == 200 and response.get_data() == reference
    assert run_jobs(app, runtime) == 0


def test_a_request_whose_commit_fails_sends_no_link(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World
) -> None:
    # The link's job belongs to the request's unit of work: it leaves only once that is committed.
    fail_commits(runtime)

    with pytest.raises(CommitFailed):
        client.post("/access", data={"email": "camille.martin@example.org"})

    assert run_jobs(app, runtime) == 0
    assert outbox(runtime) == []


def test_a_malformed_address_gets_a_precise_400(client: FlaskClient) -> None:
    response = client.post("/access", data={"email": "not an address"})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'role="alert"' in body and "email" in body


def test_public_pages_are_rate_limited(runtime: Runtime, world: World) -> None:
    limited = create_app({"TESTING": True}, runtime=Runtime(
        settings=runtime.settings.with_overrides(public_rate_limit="3 per minute"),
        engine=runtime.engine, Session=runtime.Session, tokens=runtime.tokens,
    ))  # fmt: skip
    client = limited.test_client()

    codes = [client.post("/access", data={"email": "x@example.org"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Unsubscribe links are counted per link: a mailbox provider's many one-clicks are never refused.
    links = [
        f"/u/{unsubscribe_token(runtime.tokens, world.contact.public_id, world.news.id, 'email', k)}"
        for k in range(5)
    ]
    assert [client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code for link in links] == [
        200
    ] * 5
    assert [client.get(links[0]).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_one_address_receives_at_most_three_links_an_hour(
    app: Flask, client: FlaskClient, runtime: Runtime, world: World
) -> None:
    answers = {
        client.post("/access", data={"email": "camille.martin@example.org"}).get_data() for _ in range(5)
    }

    assert len(answers) == 1
    assert run_jobs(app, runtime) == 3
    assert len(outbox(runtime)) == 3


def test_behind_a_proxy_each_client_has_its_own_limit(runtime: Runtime) -> None:
    proxied = create_app({"TESTING": True}, runtime=Runtime(
        settings=runtime.settings.with_overrides(public_rate_limit="2 per minute", proxy_hops=1),
        engine=runtime.engine, Session=runtime.Session, tokens=runtime.tokens,
    ))  # fmt: skip
    client = proxied.test_client()

    def ask(ip: str) -> int:
        return client.get("/access", headers={"X-Forwarded-For": ip}).status_code

    assert [ask("203.0.113.1") for _ in range(3)] == [200, 200, 429]
    assert ask("203.0.113.2") == 200
