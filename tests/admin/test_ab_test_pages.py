"""A/B tests in the staff pages: composed with the campaign, refused with a precise reason, shown on the
campaign's page with each variant's figures, each variant previewed, checked and test-sent before the
launch (which refuses what the checks refuse in any variant), and decided by a person's pick."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender import create_app
from sender.models import AuditEvent, Campaign, Delivery, User
from sender.runtime import Runtime
from tests import factories
from tests.admin.conftest import post, sign_in
from tests.campaign_helpers import build_audience
from tests.factories import ListFactory, PurposeFactory
from tests.smtp_server import SmtpTestServer

ClientAs = Callable[[str], FlaskClient]


def _compose(purpose: str, list_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Spring",
        "purpose": purpose,
        "kind": "marketing",
        "lists": [str(list_id)],
        "subject": "Spring is here",
        "body_format": "html",
        "body_source": '<p><a href="https://shop.example/">Shop</a></p>',
        "body_text_derived": "y",
        "tracking_mode": "aggregate",
        **changes,
    }


def _test(**changes: Any) -> dict[str, Any]:
    return {
        "subject_1": "Spring: 30 % off",
        "test_percent": "20",
        "wait_hours": "6",
        "decide_by": "clicks",
        **changes,
    }


def _draft(client: FlaskClient, purpose: str, list_id: int, **changes: Any) -> str:
    """Compose a draft in the composer; its page."""
    saved = post(
        client,
        "/admin/campaigns/new",
        _compose(purpose, list_id, **changes),
        token_page="/admin/campaigns/new",
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    return str(saved.headers["Location"])


def test_a_test_is_set_up_on_its_page_and_kept_when_the_composer_saves_variant_a(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    page = _draft(client, "news", lst.id)
    assert f'href="{page}/ab-test"' in client.get(page).get_data(as_text=True)
    saved = post(client, f"{page}/ab-test", _test(), token_page=f"{page}/ab-test")
    assert saved.status_code == 303, saved.get_data(as_text=True)
    campaign = db_session.scalars(select(Campaign)).one()
    test = campaign.ab_test
    assert test is not None
    assert (test.test_percent, test.wait_minutes, test.decide_by) == (20, 360, "clicks")
    (variant,) = test.variants
    # Stored whole: B changes the subject and keeps A's body.
    assert variant.subject == "Spring: 30 % off" and variant.body_html == campaign.body_html
    shown = client.get(page).get_data(as_text=True)
    assert "A/B test saved." in shown
    assert 'id="ab-test-report"' in shown and "Spring: 30 % off" in shown and "6 hours" in shown
    assert 'value="Spring: 30 % off"' in client.get(f"{page}/ab-test").get_data(as_text=True)

    # The composer edits A; the test stays, checked against the new A.
    post(client, f"{page}/edit", _compose("news", lst.id, subject="Spring, at last"), token_page=page)
    db_session.expire_all()
    campaign = db_session.scalars(select(Campaign)).one()
    assert campaign.subject == "Spring, at last" and campaign.ab_test is not None
    refused = post(
        client, f"{page}/edit", _compose("news", lst.id, subject="Spring: 30 % off"), token_page=page
    )
    assert refused.status_code == 422
    assert "variant B is the same as variant A" in refused.get_data(as_text=True)

    removed = post(client, f"{page}/ab-test", {**_test(), "remove": "1"}, token_page=f"{page}/ab-test")
    assert removed.status_code == 303
    db_session.expire_all()
    assert db_session.scalars(select(Campaign)).one().ab_test is None


def test_a_bad_test_is_refused_on_its_page_and_saves_nothing(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    page = _draft(client, "news", lst.id)
    untracked = _draft(client, "news", lst.id, name="Untracked", tracking_mode="off")
    cases = {
        "60 %": (page, {"test_percent": "60"}, "test_percent: must be at most 50"),
        "shares": (
            page,
            {"test_percent": "40", "subject_2": "Spring: free delivery"},
            "3 variants of 40 % each add up to more than the audience",
        ),
        "no tracking": (untracked, {}, "a winner chosen by clicks needs link tracking"),
        "same as A": (page, {"subject_1": "Spring is here"}, "variant B is the same as variant A"),
        "no variant": (page, {"subject_1": ""}, "variants: must not be empty"),
        "bad template": (page, {"subject_1": "Hi {{ contact.first_name"}, "variant B, subject:"),
    }
    for name, (where, changes, reason) in cases.items():
        answer = post(client, f"{where}/ab-test", _test(**changes), token_page=f"{where}/ab-test")
        body = answer.get_data(as_text=True)
        assert answer.status_code == 422, name
        assert 'id="ab_test-error"' in body, name
        assert reason in body.replace("&#39;", "'"), name
    db_session.expire_all()
    assert [c.ab_test for c in db_session.scalars(select(Campaign))] == [None, None]


def test_a_person_picks_the_winner_on_the_campaign_page(
    client_as: ClientAs, db_session: Session, redis_conn: Any
) -> None:
    audience = build_audience(db_session, eligible=12)
    lst_id, slug = audience.lst.id, audience.purpose.slug
    db_session.commit()
    client = client_as("marketer")
    page = _draft(client, slug, lst_id)
    post(
        client, f"{page}/ab-test", _test(decide_by="manual", test_percent="25"), token_page=f"{page}/ab-test"
    )
    campaign = db_session.scalars(select(Campaign)).one()
    assert post(client, f"{page}/send", {"confirm": "yes"}, token_page=page).status_code == 303
    shown = client.get(page).get_data(as_text=True)
    assert "Send B to the rest" in shown and "wait for the winner you pick" in shown

    # The DPO sees the figures but may not pick.
    viewer = client_as("dpo")
    assert "Send B to the rest" not in viewer.get(page).get_data(as_text=True)
    assert post(viewer, f"{page}/ab-winner", {"variant": "B"}, token_page=page).status_code == 403

    picked = post(client, f"{page}/ab-winner", {"variant": "B"}, token_page=page)
    assert picked.status_code == 303
    after = client.get(picked.headers["Location"]).get_data(as_text=True)
    assert "Variant B goes to the rest of the audience." in after
    assert "Variant B won on" in after and "marketer@exemple.org" in after
    db_session.expire_all()
    waiting = db_session.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign.id, Delivery.reason == "ab_test")
    ).all()
    assert waiting == []
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.ab_decided")).one()
    assert event.details["winner"] == "B" and event.details["by"] == "person"
    # A second pick is refused with the winner's name.
    again = post(client, f"{page}/ab-winner", {"variant": "A"}, token_page=page)
    assert "the A/B test's winner is already variant B" in client.get(again.headers["Location"]).get_data(
        as_text=True
    ).replace("&#39;", "'")


def _frame(client: FlaskClient, body: str) -> str:
    """The preview frame's URL on a campaign page, and the HTML it shows."""
    found = re.search(r'<iframe class="preview" src="([^"]+)"', body)
    assert found, "no preview frame"
    return client.get(found.group(1).replace("&amp;", "&")).get_data(as_text=True)


def test_each_variant_is_previewed_on_the_campaign_page_and_an_unknown_one_is_a_404(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    page = _draft(client, "news", lst.id)
    plain = client.get(page).get_data(as_text=True)
    # Without a test: no picker, and no variant B to show.
    assert "Preview of variant" not in plain and 'name="variant"' not in plain
    assert client.get(f"{page}?variant=B").status_code == 404
    test = _test(body_1='<p>Only in B: <a href="https://shop.example/b">B</a></p>')
    assert post(client, f"{page}/ab-test", test, token_page=f"{page}/ab-test").status_code == 303

    first = client.get(page).get_data(as_text=True)
    assert '<a href="/admin/campaigns/' in first and ">Preview of variant B</a>" in first
    assert "<strong>Subject:</strong> Spring is here" in first and "Only in B" not in _frame(client, first)
    shown = client.get(f"{page}?variant=B").get_data(as_text=True)
    assert 'aria-current="page">Preview of variant B</a>' in shown
    assert "<strong>Subject:</strong> Spring: 30 % off" in shown
    assert "Only in B" in _frame(client, shown)
    # The test send offers the variants, the one shown picked.
    assert '<option selected value="B">B</option>' in shown
    for unknown in ("C", "b", "AB", "Z"):
        assert client.get(f"{page}?variant={unknown}").status_code == 404, unknown
        assert client.get(f"{page}/message.html?variant={unknown}").status_code == 404, unknown
    refused = post(client, f"{page}/test", {"address": "me@exemple.org", "variant": "C"}, token_page=page)
    assert refused.status_code == 404
    assert (
        db_session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "campaign.test_send")
        )
        == 0
    )


def _checks(body: str) -> dict[tuple[str, str], str]:
    """The page's checks: outcome by (key, variant letter)."""
    found = re.findall(r'<li class="check (\w+)" data-check="(\w+)"(?: data-variant="(\w)")?>', body)
    return {(key, variant): outcome for outcome, key, variant in found}


def test_the_checks_cover_every_variant_and_name_it(client_as: ClientAs, db_session: Session) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    page = _draft(client, "news", lst.id, body_source="<p>Spring has come.</p>")
    test = _test(
        subject_1="B" * 80,
        body_1='<p><img src="https://example.org/b.png"> <a href="http://127.0.0.1:9/sale">Sale</a></p>',
    )
    assert post(client, f"{page}/ab-test", test, token_page=f"{page}/ab-test").status_code == 303
    body = client.get(page).get_data(as_text=True)
    found = _checks(body)
    assert (found[("alt_text", "A")], found[("alt_text", "B")]) == ("pass", "fail")
    assert (found[("subject", "A")], found[("subject", "B")]) == ("pass", "warn")
    assert re.search(
        r'data-variant="B">.*Variant B: <strong>Images with alt text</strong>: 1 image\(s\) without alt text, '
        r"first: https://example.org/b.png</li>",
        body,
    )
    # Asked for, the link check runs on B's links too (this local address is refused, never requested).
    checked = post(client, f"{page}/checks?variant=B", token_page=page)
    assert checked.status_code == 200
    shown = checked.get_data(as_text=True)
    found = _checks(shown)
    assert (found[("links", "A")], found[("links", "B")]) == ("pass", "fail")
    assert (
        "Variant B: <strong>Links</strong>: 1 broken: http://127.0.0.1:9/sale (refused: the host is not a public address)"
        in shown
    )
    # The page still shows the variant it was on.
    assert "<strong>Subject:</strong> " + "B" * 80 in shown


def test_the_launch_refuses_an_image_without_alt_text_in_a_variant(
    client_as: ClientAs, db_session: Session, redis_conn: Any
) -> None:
    audience = build_audience(db_session, eligible=4)
    lst_id, slug = audience.lst.id, audience.purpose.slug
    db_session.commit()
    client = client_as("marketer")
    page = _draft(client, slug, lst_id)
    test = _test(decide_by="manual", body_1='<p>Look <img src="https://example.org/b.png"></p>')
    assert post(client, f"{page}/ab-test", test, token_page=f"{page}/ab-test").status_code == 303
    refused = post(client, f"{page}/send", {"confirm": "yes"}, token_page=page)
    shown = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert (
        "variant B: 1 image(s) without alt text, first: https://example.org/b.png; describe each image (alt) "
        "before sending"
    ) in shown
    db_session.expire_all()
    campaign = db_session.scalars(select(Campaign)).one()
    assert campaign.status == "draft"
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0


@pytest.fixture
def smtp_client(committed: Runtime, password_hash: str) -> Iterator[tuple[FlaskClient, SmtpTestServer]]:
    """An app that commits for real and sends through a real SMTP server, a marketer signed in."""
    with SmtpTestServer() as mail:
        runtime = dataclasses.replace(
            committed, settings=committed.settings.with_overrides(smtp_url=mail.url)
        )
        with runtime.Session() as session:
            factories.bind(session)
            session.add(User(email="marketer@exemple.org", role="marketer", password_hash=password_hash))
            PurposeFactory(slug="news")
            session.commit()
        client = create_app({"TESTING": True}, runtime=runtime).test_client()
        assert sign_in(client, "marketer@exemple.org").status_code == 302
        yield client, mail


def test_a_test_of_variant_b_is_received_with_bs_subject_and_body(
    smtp_client: tuple[FlaskClient, SmtpTestServer], committed: Runtime
) -> None:
    client, mail = smtp_client
    with committed.Session() as session:
        factories.bind(session)
        list_id = ListFactory().id
        session.commit()
    page = _draft(client, "news", list_id)
    test = _test(body_1='<p>Only in B: <a href="https://shop.example/b">B</a></p>')
    assert post(client, f"{page}/ab-test", test, token_page=f"{page}/ab-test").status_code == 303
    assert "Variant of the test message" in client.get(page).get_data(as_text=True)

    sent = post(client, f"{page}/test", {"address": "me@exemple.org", "variant": "B"}, token_page=page)
    assert sent.status_code == 302 and sent.headers["Location"].endswith("variant=B")
    assert "Test message sent." in client.get(sent.headers["Location"]).get_data(as_text=True)
    (received,) = mail.received
    message = received.message()
    assert str(message["Subject"]) == "[TEST] Spring: 30 % off"
    assert "Only in B" in message.get_body(("html",)).get_content()
    # A is still A's.
    post(client, f"{page}/test", {"address": "me@exemple.org", "variant": "A"}, token_page=page)
    assert [str(m.message()["Subject"]) for m in mail.received] == [
        "[TEST] Spring: 30 % off",
        "[TEST] Spring is here",
    ]
    assert "Only in B" not in mail.received[1].message().get_body(("html",)).get_content()


def test_an_sms_test_varies_the_text_alone(client_as: ClientAs, db_session: Session) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    client = client_as("marketer")
    sms = {
        "channel": "sms",
        "subject": "",
        "body_source": "",
        "body_text": "Spring: -20 %",
        "tracking_mode": "off",
    }
    page = _draft(client, "news", lst.id, **sms)
    assert 'name="subject_1"' not in client.get(f"{page}/ab-test").get_data(as_text=True)

    test = {"body_1": "Spring: -30 %", "test_percent": "20", "wait_hours": "6", "decide_by": "manual"}
    saved = post(client, f"{page}/ab-test", test, token_page=f"{page}/ab-test")

    assert saved.status_code == 303, saved.get_data(as_text=True)
    campaign = db_session.scalars(select(Campaign)).one()
    db_session.refresh(campaign)
    assert campaign.ab_test is not None
    assert [(v.subject, v.body_text) for v in campaign.ab_test.variants] == [("", "Spring: -30 %")]
    shown = client.get(f"{page}/ab-test").get_data(as_text=True)
    assert "Spring: -30 %" in shown and 'name="subject_1"' not in shown
