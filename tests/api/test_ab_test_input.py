"""A/B tests through the API: the test is part of the campaign's one schema, refused with the field and the
reason, shown as documented (every answer is checked against the OpenAPI document), and decided once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import DeliveryStatus, EngagementClass, EngagementKind
from sender.models import CampaignLink, Contact, Delivery, EngagementEvent
from tests.api.helpers import Api, create_contact, create_purpose, grant, sql_statements
from tests.factories import ContactFactory

BODY = {
    "name": "Spring",
    "purpose": "newsletter",
    "subject": "Spring is here",
    "body_html": '<p><a href="https://shop.example/">Shop</a></p>',
    "body_text_derived": True,
    "tracking_mode": "aggregate",
}
TEST = {"variants": [{"subject": "Spring: 30 % off"}], "test_percent": 20, "wait_minutes": 120}


@pytest.fixture
def list_id(api: Api) -> int:
    """A list with one consenting contact."""
    create_purpose(api)
    yes = create_contact(api, email="yes@example.org", first_name="Ana")
    grant(api, yes["id"])
    lst = api.post("/lists", {"name": "All"})
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [yes["id"]]}, status=200)
    return int(lst["id"])


def test_a_draft_with_a_test_shows_its_variants_and_refuses_a_pick_before_its_launch(
    api: Api, list_id: int
) -> None:
    created = api.post("/campaigns", {**BODY, "lists": [list_id], "ab_test": TEST})
    test = created["ab_test"]
    assert [(v["name"], v["subject"], v["sent"]) for v in test["variants"]] == [
        ("A", "Spring is here", 0),
        ("B", "Spring: 30 % off", 0),
    ]
    assert (test["test_percent"], test["wait_minutes"], test["decide_by"]) == (20, 120, "clicks")
    assert test["winner"] is None and test["decide_at"] is None
    refused = api.post(f"/campaigns/{created['id']}/ab-test/winner", {"variant": "B"}, status=409)
    assert "draft" in refused["message"]
    api.post(f"/campaigns/{created['id']}/ab-test/winner", {"variant": "E"}, status=422)
    plain = api.post("/campaigns", {**BODY, "lists": [list_id]})
    assert plain["ab_test"] is None
    api.post(f"/campaigns/{plain['id']}/ab-test/winner", {"variant": "A"}, status=404)
    # A copy keeps the test, undecided.
    copy = api.post(f"/campaigns/{created['id']}/duplicate", None)
    assert [v["subject"] for v in copy["ab_test"]["variants"]] == ["Spring is here", "Spring: 30 % off"]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"ab_test": {**TEST, "variants": []}}, "variants: must not be empty"),
        ({"ab_test": {**TEST, "variants": [{"subject": "x"}] * 4}}, "variants: must have at most 3"),
        ({"ab_test": {**TEST, "test_percent": 0}}, "test_percent"),
        ({"ab_test": {**TEST, "wait_minutes": 5}}, "wait_minutes"),
        ({"ab_test": {**TEST, "decide_by": "opens"}}, "decide_by"),
        (
            {"ab_test": {**TEST, "variants": [{"subject": "B"}, {"subject": "C"}], "test_percent": 40}},
            "3 variants",
        ),
        ({"tracking_mode": "off", "ab_test": TEST}, "needs link tracking"),
        (
            {"ab_test": {**TEST, "variants": [{"subject": "Spring is here"}]}},
            "variant B is the same as variant A",
        ),
        (
            {"ab_test": {**TEST, "variants": [{"body_source": "<p>{{ contact.email }}</p>"}]}},
            "variant B, body_html",
        ),
        (
            {"kind": "legal_notice", "tracking_mode": "off", "ab_test": {**TEST, "decide_by": "manual"}},
            "marketing",
        ),
    ],
)
def test_a_bad_test_is_refused_naming_it(
    api: Api, list_id: int, changes: dict[str, Any], fragment: str
) -> None:
    answer = api.post("/campaigns", {**BODY, "lists": [list_id], **changes}, status=422)
    assert fragment in answer["fields"]["ab_test"]
    assert api.get("/campaigns")["items"] == []


def test_an_sms_test_varies_the_text(api: Api, list_id: int) -> None:
    sms = {
        "name": "Flash",
        "purpose": "newsletter",
        "channel": "sms",
        "body_text": "Sale today",
        "ab_test": {"variants": [{"body_text": "30 % off today"}], "decide_by": "manual"},
    }
    created = api.post("/campaigns", {**sms, "lists": [list_id]})
    assert [(v["subject"], v["body_text"]) for v in created["ab_test"]["variants"]] == [
        ("", "Sale today"),
        ("", "30 % off today"),
    ]


def _tested(api: Api, db_session: Session, list_id: int, people: list[Contact], n: int) -> None:
    """A tested campaign whose variant A was sent to `people[:n]`, B to the rest, and B clicked n times."""
    created = api.post("/campaigns", {**BODY, "name": f"Spring {n}", "lists": [list_id], "ab_test": TEST})
    for index, person in enumerate(people):
        db_session.add(
            Delivery(
                campaign_id=created["id"],
                contact_id=person.id,
                status=DeliveryStatus.SENT,
                sent_at=utcnow(),
                variant=0 if index < n else 1,
            )
        )
    link = CampaignLink(campaign_id=created["id"], variant=1, position=0, url="https://shop.example/")
    db_session.add(link)
    db_session.flush()
    for click in range(n):
        db_session.add(
            EngagementEvent(
                campaign_id=created["id"],
                variant=1,
                link_id=link.id,
                kind=EngagementKind.CLICK,
                classification=EngagementClass.HUMAN,
                occurred_at=utcnow(),
                visitor_key=f"visitor-{click % 2}",
            )
        )
    db_session.commit()


def _listed(api: Api, connection: Any) -> tuple[list[dict[str, Any]], int]:
    """The campaigns listed, and how many statements the listing sent."""
    api.get("/campaigns")  # the token's last use is recorded once, not in the call measured
    with sql_statements(connection) as sent:
        items = api.get("/campaigns")["items"]
    return items, len(sent)


def test_the_list_reads_ten_tests_in_as_many_statements_as_one_and_shows_each_as_its_own_page_does(
    api: Api, db_session: Session, connection: Any, list_id: int
) -> None:
    people = [ContactFactory() for _ in range(12)]
    _tested(api, db_session, list_id, people, 1)
    items, one = _listed(api, connection)
    assert [(v["name"], v["sent"], v["clicks"]) for v in items[0]["ab_test"]["variants"]] == [
        ("A", 1, 0),
        ("B", 11, 1),
    ]
    for n in range(2, 11):
        _tested(api, db_session, list_id, people, n)
    items, ten = _listed(api, connection)
    assert len(items) == 10
    # Grouped queries: the listing's cost does not grow with the campaigns listed.
    assert ten == one, (one, ten)
    for item in items:
        assert item == api.get(f"/campaigns/{item['id']}")
    # Each campaign its own figures: n clicks by two visitors, n messages of A, 12 - n of B.
    assert [
        [(v["sent"], v["clicks"], v["unique_clicks"]) for v in item["ab_test"]["variants"]] for item in items
    ] == [[(n, 0, 0), (12 - n, n, min(n, 2))] for n in range(10, 0, -1)]
