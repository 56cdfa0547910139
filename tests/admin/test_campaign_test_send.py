"""Test sends from the campaign page (issue 15, item 8): the sample's data unless a contact is picked,
suppressed and erased addresses refused at their field, an hourly allowance per user, and the message
handed to SMTP only after the request's transaction has committed, the page saying what happened."""

from __future__ import annotations

import dataclasses
import email
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender import create_app
from sender.db import make_engine
from sender.models import AuditEvent, ListMember, User
from sender.runtime import Runtime
from sender.services.messages.preview import TEST_SEND_ACTION
from sender.services.rights.erasure import erase
from tests import factories
from tests.admin.conftest import csrf_token, post, sign_in
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory
from tests.smtp_server import Received, SmtpTestServer

ClientAs = Callable[[str], FlaskClient]


def _outbox(settings: Any) -> set[Path]:
    outbox = Path(settings.outbox_path)
    return set(outbox.glob("*.eml")) if outbox.exists() else set()


def _campaign_with_member(db_session: Session) -> tuple[int, str]:
    """A draft whose list holds Jeanne; (campaign id, Jeanne's address)."""
    lst = ListFactory()
    member = ContactFactory(first_name="Jeanne")
    db_session.add(ListMember(list_id=lst.id, contact_id=member.id))
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, lists=[lst])
    db_session.commit()
    return campaign.id, member.email


def _field_error(body: str, field: str) -> str:
    match = re.search(rf'<span class="error" id="{field}-error">([^<]*)</span>', body)
    assert match, f"no error at {field}"
    return match.group(1)


def _test_send(client: FlaskClient, campaign_id: int, **data: str) -> Any:
    page = f"/admin/campaigns/{campaign_id}"
    return post(client, f"{page}/test", data, token_page=page)


def test_a_test_send_shows_the_sample_never_a_list_member(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    campaign_id, _ = _campaign_with_member(db_session)
    before = _outbox(settings)
    client = client_as("marketer")
    response = _test_send(client, campaign_id, address="me@exemple.org")
    assert response.status_code == 302
    new = _outbox(settings) - before
    assert len(new) == 1
    message = email.message_from_bytes(new.pop().read_bytes(), policy=default)
    assert str(message["Subject"]) == "[TEST] Hello Camille"
    assert "Jeanne" not in message.as_string()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Test message sent." in page
    # The campaign page's preview shows the sample too.
    assert "Hello Camille" in page and "Jeanne" not in page


def test_a_test_send_may_use_a_contact_the_sender_picks(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    campaign_id, jeanne = _campaign_with_member(db_session)
    before = _outbox(settings)
    client = client_as("marketer")
    response = _test_send(client, campaign_id, address="me@exemple.org", sample=jeanne.upper())
    assert response.status_code == 302
    (new,) = _outbox(settings) - before
    assert str(email.message_from_bytes(new.read_bytes(), policy=default)["Subject"]) == "[TEST] Hello Jeanne"
    unknown = _test_send(client, campaign_id, address="me@exemple.org", sample="nobody@example.org")
    assert unknown.status_code == 422
    assert _field_error(unknown.get_data(as_text=True), "sample") == "no contact has this address"
    assert _outbox(settings) - before == {new}


def test_a_test_send_to_an_erased_or_suppressed_address_is_refused_at_the_field(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    campaign_id, _ = _campaign_with_member(db_session)
    erased = ContactFactory(email="erased@example.org")
    erase(db_session, settings, erased, actor="test", notify=False)
    db_session.commit()
    before = _outbox(settings)
    client = client_as("marketer")
    for address in ("erased@example.org", "ERASED@Example.org"):
        response = _test_send(client, campaign_id, address=address)
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert _field_error(body, "address") == "this address is on the suppression list (erasure)"
        # What was typed stays in the form.
        assert f"{address}</textarea>" in body
    assert _outbox(settings) == before
    assert (
        db_session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == TEST_SEND_ACTION)
        )
        == 0
    )


def test_test_sends_are_limited_per_user(client_as: ClientAs, db_session: Session, settings: Any) -> None:
    campaign_id, _ = _campaign_with_member(db_session)
    limit = settings.test_sends_per_hour
    before = _outbox(settings)
    marketer = client_as("marketer")
    for _ in range(limit):
        assert _test_send(marketer, campaign_id, address="me@exemple.org").status_code == 302
    refused = _test_send(marketer, campaign_id, address="me@exemple.org")
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "address") == (
        f"at most {limit} test messages per hour; try again later"
    )
    assert len(_outbox(settings) - before) == limit
    # The allowance is each user's own.
    assert _test_send(client_as("admin"), campaign_id, address="me@exemple.org").status_code == 302
    assert len(_outbox(settings) - before) == limit + 1


@pytest.fixture
def smtp_app(committed: Runtime, password_hash: str) -> Iterator[tuple[FlaskClient, SmtpTestServer, int]]:
    """An app that commits for real and sends through a real SMTP server; a marketer signed in, a draft.

    `client.application.test_client()` gives more clients; sign them in with `sign_in`.
    """
    with SmtpTestServer() as mail:
        runtime = dataclasses.replace(
            committed, settings=committed.settings.with_overrides(smtp_url=mail.url)
        )
        with runtime.Session() as session:
            factories.bind(session)
            session.add(User(email="marketer@exemple.org", role="marketer", password_hash=password_hash))
            campaign_id = CampaignFactory(purpose_id=PurposeFactory().id, lists=[ListFactory()]).id
            session.commit()
        client = create_app({"TESTING": True}, runtime=runtime).test_client()
        assert sign_in(client, "marketer@exemple.org").status_code == 302
        yield client, mail, campaign_id


def test_a_test_send_leaves_after_the_commit_and_says_how_it_went(
    smtp_app: tuple[FlaskClient, SmtpTestServer, int], committed: Runtime
) -> None:
    client, mail, campaign_id = smtp_app
    seen: list[int] = []
    engine = make_engine(committed.settings.database_url, pool=False)

    def committed_already(_message: Received) -> str | None:
        # Another connection sees the test send's audit row only once the request has committed.
        with engine.connect() as conn:
            seen.append(
                conn.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.action == TEST_SEND_ACTION)
                )
                or 0
            )
        return None if len(seen) == 1 else "550 5.7.1 refused by policy"

    mail.script([committed_already, committed_already])
    try:
        ok = _test_send(client, campaign_id, address="me@exemple.org")
        assert ok.status_code == 302
        assert "Test message sent." in client.get(ok.headers["Location"]).get_data(as_text=True)
        refused = _test_send(client, campaign_id, address="me@exemple.org")
        page = client.get(refused.headers["Location"]).get_data(as_text=True)
        assert "The test message was not sent" in page and "refused by policy" in page
    finally:
        engine.dispose()
    assert seen == [1, 2]
    assert [m.rcpt_tos for m in mail.received] == [["me@exemple.org"], ["me@exemple.org"]]


def test_the_page_previews_a_picked_contact_without_an_address_in_the_url(
    client_as: ClientAs, db_session: Session
) -> None:
    campaign_id, jeanne = _campaign_with_member(db_session)
    client = client_as("dpo")
    page = f"/admin/campaigns/{campaign_id}"
    picked = post(client, f"{page}/sample", {"preview_address": jeanne}, token_page=page)
    assert picked.status_code == 303
    location = picked.headers["Location"]
    assert jeanne not in location and "%40" not in location and "contact=" in location
    body = client.get(location).get_data(as_text=True)
    assert "Hello Jeanne" in body
    frame = re.search(r'<iframe class="preview" src="([^"]+)"', body)
    assert frame and jeanne not in frame.group(1)
    assert "Bonjour Jeanne" in client.get(frame.group(1).replace("&amp;", "&")).get_data(as_text=True)
    unknown = post(client, f"{page}/sample", {"preview_address": "nobody@example.org"}, token_page=page)
    assert unknown.status_code == 422
    assert _field_error(unknown.get_data(as_text=True), "preview_address") == "no contact has this address"


def test_concurrent_test_sends_stop_at_the_allowance(
    smtp_app: tuple[FlaskClient, SmtpTestServer, int], committed: Runtime
) -> None:
    # The probe's twenty test sends at once: each count sees the others, so no more than the allowance leave.
    client, mail, campaign_id = smtp_app
    limit = committed.settings.test_sends_per_hour
    clients = []
    for _ in range(limit + 5):
        other = client.application.test_client()
        assert sign_in(other, "marketer@exemple.org").status_code == 302
        clients.append((other, csrf_token(other, f"/admin/campaigns/{campaign_id}")))

    def send(pair: tuple[FlaskClient, str]) -> int:
        other, token = pair
        data = {"csrf_token": token, "address": "me@exemple.org"}
        return other.post(f"/admin/campaigns/{campaign_id}/test", data=data).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(send, clients))
    assert statuses == [302] * limit + [422] * 5
    assert len(mail.received) == limit


def test_a_test_send_reaches_several_addresses_each_counted(
    smtp_app: tuple[FlaskClient, SmtpTestServer, int], committed: Runtime
) -> None:
    client, mail, campaign_id = smtp_app
    ok = _test_send(client, campaign_id, address="one@exemple.org, two@exemple.org\nthree@exemple.org")
    assert ok.status_code == 302
    assert "Test messages sent: 3." in client.get(ok.headers["Location"]).get_data(as_text=True)
    assert sorted(m.rcpt_tos[0] for m in mail.received) == [
        "one@exemple.org",
        "three@exemple.org",
        "two@exemple.org",
    ]
    assert all(str(m.message()["Subject"]).startswith("[TEST] ") for m in mail.received)
    # Each message carries its footer and its exits.
    assert all("List-Unsubscribe" in m.message() for m in mail.received)
    engine = make_engine(committed.settings.database_url, pool=False)
    try:
        with engine.connect() as conn:
            counted = conn.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == TEST_SEND_ACTION)
            )
    finally:
        engine.dispose()
    assert counted == 3


def test_a_test_send_names_each_bad_address_and_sends_none(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    campaign_id, _ = _campaign_with_member(db_session)
    erased = ContactFactory(email="gone@example.org")
    erase(db_session, settings, erased, actor="test", notify=False)
    db_session.commit()
    before = _outbox(settings)
    client = client_as("marketer")
    response = _test_send(client, campaign_id, address="ok@exemple.org; not-an-address\ngone@example.org")
    assert response.status_code == 422
    error = _field_error(response.get_data(as_text=True), "address")
    assert error.startswith("not-an-address: ")
    assert "gone@example.org: this address is on the suppression list (erasure)" in error
    assert "ok@exemple.org" not in error
    assert _outbox(settings) == before


def test_a_test_send_is_bounded_in_addresses(client_as: ClientAs, db_session: Session, settings: Any) -> None:
    campaign_id, _ = _campaign_with_member(db_session)
    limit = settings.composer.test_send_max_addresses
    typed = ", ".join(f"n{i}@exemple.org" for i in range(limit + 1))
    response = _test_send(client_as("marketer"), campaign_id, address=typed)
    assert response.status_code == 422
    assert _field_error(response.get_data(as_text=True), "address") == (
        f"at most {limit} addresses per test, got {limit + 1}"
    )


def test_several_addresses_count_against_the_hourly_allowance(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    campaign_id, _ = _campaign_with_member(db_session)
    limit = settings.test_sends_per_hour
    many = ", ".join(
        f"n{i}@exemple.org" for i in range(min(limit + 1, settings.composer.test_send_max_addresses))
    )
    client = client_as("marketer")
    # Fill the allowance one by one but for the last few, then ask for more than what is left.
    for _ in range(limit - 1):
        assert _test_send(client, campaign_id, address="me@exemple.org").status_code == 302
    before = _outbox(settings)
    refused = _test_send(client, campaign_id, address=many)
    assert refused.status_code == 422
    assert "test messages per hour" in _field_error(refused.get_data(as_text=True), "address")
    assert _outbox(settings) == before


def test_a_message_the_picked_contacts_data_breaks_is_refused_with_its_reason_not_a_server_error(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    # Valid at save time (the sample has a first name), broken for a contact without one.
    lst = ListFactory()
    blank = ContactFactory(first_name="")
    db_session.add(ListMember(list_id=lst.id, contact_id=blank.id))
    campaign = CampaignFactory(
        purpose_id=PurposeFactory().id,
        lists=[lst],
        body_text="Share: {{ 100 // (contact.first_name | length) }} %",
    )
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    before = _outbox(settings)

    sent = _test_send(client, campaign.id, address="me@exemple.org", sample=blank.email)
    assert sent.status_code == 422
    reason = _field_error(sent.get_data(as_text=True), "sample")
    assert "ZeroDivisionError" in reason and blank.email not in reason
    assert _outbox(settings) == before
    assert db_session.scalar(select(func.count()).where(AuditEvent.action == TEST_SEND_ACTION)) == 0

    # The page and its frame previewing that contact say why, too.
    shown = client.get(f"{page}?contact={blank.public_id}")
    assert shown.status_code == 200
    assert "ZeroDivisionError" in shown.get_data(as_text=True)
    frame = client.get(f"{page}/message.html?contact={blank.public_id}")
    assert frame.status_code == 422 and "ZeroDivisionError" in frame.get_data(as_text=True)
