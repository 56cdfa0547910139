"""The requalification API: create with a deadline, refuse promotion, DPO approval, start, funnel, interactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Campaign, Contact
from tests.api.helpers import Api, create_contact, create_purpose

BODY = {
    "name": "Re-permission 2026",
    "purpose": "newsletter",
    "subject": "Souhaitez-vous continuer à nous lire ?",
    "body_text": "Bonjour {{ contact.first_name }},\nconfirmez ici : {{ confirm_url }}\n",
}


def _in(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
def purpose(api: Api) -> None:
    create_purpose(api)


@pytest.fixture
def marketer(role_headers: dict[str, dict[str, str]]) -> dict[str, str]:
    return role_headers["marketer"]


def test_create_with_a_chosen_deadline_then_approve_then_start(
    api: Api, purpose: None, marketer: dict[str, str], dpo_headers: dict[str, str]
) -> None:
    deadline = (datetime.now(UTC) + timedelta(days=10, hours=3)).replace(microsecond=0)
    created = api.post("/requalifications", {**BODY, "deadline": deadline.isoformat()}, headers=marketer)
    assert created["deadline"].startswith(deadline.strftime("%Y-%m-%dT%H:%M:%S"))
    assert created["approval"] == {"by": None, "at": None, "note": None}
    assert created["wording_version"] == 1
    cid = created["campaign_id"]
    assert api.get(f"/campaigns/{cid}")["kind"] == "requalification"

    refused = api.post(f"/campaigns/{cid}/send", None, 422, headers=marketer)
    assert "DPO" in refused["fields"]["approval"]
    api.post(f"/campaigns/{cid}/approval", {"note": "ok"}, 403, headers=marketer)

    approved = api.post(
        f"/campaigns/{cid}/approval", {"note": "File 2019-12 checked."}, 200, headers=dpo_headers
    )
    assert approved["approval"]["by"].startswith("user:") and approved["approval"]["at"]
    assert approved["approval"]["note"] == "File 2019-12 checked."
    again = api.post(f"/campaigns/{cid}/approval", {"note": "twice"}, 409, headers=dpo_headers)
    assert "already approved" in again["message"]

    started = api.post(f"/campaigns/{cid}/send", None, 202, headers=marketer)
    assert started["status"] == "sending"
    cycle = api.get(f"/requalifications/{cid}")
    assert cycle["funnel"] == {
        "asked": 0, "waiting": 0, "confirmed": 0, "declined": 0, "expired": {"erased": 0, "archived": 0}, "excluded": 0,
    }  # fmt: skip
    assert [c["campaign_id"] for c in api.get("/requalifications")["items"]] == [cid]


def test_default_deadline_is_thirty_days(api: Api, purpose: None) -> None:
    created = api.post("/requalifications", BODY)
    deadline = datetime.fromisoformat(created["deadline"].replace("Z", "+00:00"))
    assert abs(deadline - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_bad_input_is_refused_precisely_and_nothing_is_kept(
    api: Api, purpose: None, db_session: Session
) -> None:
    past = api.post("/requalifications", {**BODY, "deadline": _in(-1)}, 422)
    assert "must be in the future" in past["fields"]["deadline"]
    naive = api.post("/requalifications", {**BODY, "deadline": "2030-01-01T09:00:00"}, 422)
    assert "deadline" in naive["fields"]
    promo = api.post(
        "/requalifications", {**BODY, "body_text": "Profitez de -30 % !\n{{ confirm_url }}"}, 422
    )
    assert promo["fields"]["body_text"] == (
        "line 1: promotional wording '30 %' (offer, price or discount) is not allowed in a request for consent"
    )
    link = api.post("/requalifications", {**BODY, "body_html": '<a href="https://shop.test">x</a>'}, 422)
    assert "marketing link" in link["fields"]["body_html"]
    unknown = api.post("/requalifications", {**BODY, "purpose": "nope"}, 422)
    assert unknown["fields"]["purpose"] == "no purpose 'nope'"
    assert db_session.scalar(select(func.count()).select_from(Campaign)) == 0
    # One open cycle per purpose: a second would ask the same people twice.
    api.post("/requalifications", BODY)
    api.post("/requalifications", BODY, 409)


def test_the_author_may_not_approve_their_own_campaign(api: Api, purpose: None) -> None:
    # The admin may approve (like the DPO) but not what they wrote themselves.
    cid = api.post("/requalifications", BODY)["campaign_id"]
    refused = api.post(f"/campaigns/{cid}/approval", {"note": "mine"}, 403)
    assert "author" in refused["message"]


def test_approval_of_a_marketing_campaign_is_a_conflict(
    api: Api, purpose: None, dpo_headers: dict[str, str]
) -> None:
    lst = api.post("/lists", {"name": "All"})
    campaign = api.post("/campaigns", {**BODY, "lists": [lst["id"]], "body_text": "Hello"}, headers=None)
    refused = api.post(f"/campaigns/{campaign['id']}/approval", {"note": "n"}, 409, headers=dpo_headers)
    assert "not a requalification campaign" in refused["message"]
    api.get(f"/requalifications/{campaign['id']}", 409)


def test_interactions_move_the_clock_only_when_they_come_from_the_person(
    api: Api, db_session: Session
) -> None:
    contact = create_contact(api)
    opened = api.post(f"/contacts/{contact['id']}/interactions", {"kind": "open"}, 200)
    assert opened == {"counted": False, "reason": "not_from_the_person", "last_interaction_at": None}
    at = "2026-11-01T10:00:00+01:00"
    ordered = api.post(f"/contacts/{contact['id']}/interactions", {"kind": "order", "occurred_at": at}, 200)
    assert ordered["counted"] is True and ordered["last_interaction_at"].startswith("2026-11-01T09:00:00")
    bad = api.post(f"/contacts/{contact['id']}/interactions", {"kind": "pageview"}, 422)
    assert "must be one of" in bad["fields"]["kind"]
    stored: Any = db_session.scalar(select(Contact.last_interaction_at))
    assert stored == datetime(2026, 11, 1, 9, 0)
