"""A/B tests in the staff pages: composed with the campaign, refused with a precise reason, shown on the
campaign's page with each variant's figures, and decided by a person's pick."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import AuditEvent, Campaign, Delivery
from tests.admin.conftest import post
from tests.campaign_helpers import build_audience
from tests.factories import ListFactory, PurposeFactory

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
