"""Lists and bulk membership: all-or-nothing, set-based, at most 10,000 ids per call."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.models import AuditEvent, Contact, ListMember
from sender.models.contacts import new_public_id
from tests.api.helpers import Api, sql_statements
from tests.factories import TEST_HASH_KEY, ContactFactory


def _members(db_session: Session, list_id: int) -> set[int]:
    return set(db_session.scalars(select(ListMember.contact_id).where(ListMember.list_id == list_id)))


def _contacts(n: int) -> list[Any]:
    return [ContactFactory() for _ in range(n)]


def test_create_get_and_list_with_counts(api: Api) -> None:
    vip = api.post("/lists", {"name": "VIP", "description": "Best customers"})
    assert vip["member_count"] == 0
    assert vip["created_at"].endswith("Z")
    other = api.post("/lists", {"name": "Trade fair 2025"})
    assert other["description"] == ""
    people = _contacts(3)
    api.post(f"/lists/{vip['id']}/members", {"contact_ids": [c.public_id for c in people]}, 200)
    assert api.get(f"/lists/{vip['id']}") == {**vip, "member_count": 3}
    assert api.get("/lists") == {"items": [{**vip, "member_count": 3}, other]}


def test_create_answers_with_location(api: Api) -> None:
    response = api.client.post("/api/v1/lists", json={"name": "VIP"}, headers=api.headers)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/api/v1/lists/{response.get_json()['id']}")


def test_duplicate_name_is_409(api: Api) -> None:
    api.post("/lists", {"name": "VIP"})
    assert api.post("/lists", {"name": "VIP"}, 409)["error"] == "conflict"
    assert len(api.get("/lists")["items"]) == 1


def test_bad_list_fields_are_422(api: Api) -> None:
    assert set(api.post("/lists", {}, 422)["fields"]) == {"name"}
    fields = api.post("/lists", {"name": " ", "description": 5, "owner": "me"}, 422)["fields"]
    assert set(fields) == {"name", "description", "owner"}
    assert set(api.post("/lists", {"name": "x" * 201}, 422)["fields"]) == {"name"}


def test_unknown_list_is_404(api: Api) -> None:
    ids = {"contact_ids": [ContactFactory().public_id]}
    api.get("/lists/999999", 404)
    api.get("/lists/999999/members", 404)
    api.post("/lists/999999/members", ids, 404)
    api.delete("/lists/999999/members", ids, 404)


def test_add_is_idempotent_and_counts(api: Api, db_session: Session) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    people = _contacts(4)
    path = f"/lists/{lst['id']}/members"
    first = api.post(path, {"contact_ids": [p.public_id for p in people[:3]]}, 200)
    assert first == {"requested": 3, "added": 3, "already_members": 0}
    # Repeated ids count once; existing members stay as they are.
    again = api.post(path, {"contact_ids": [p.public_id for p in people] + [people[0].public_id]}, 200)
    assert again == {"requested": 4, "added": 1, "already_members": 3}
    assert _members(db_session, lst["id"]) == {p.id for p in people}


def test_unknown_ids_fail_the_whole_call(api: Api, db_session: Session) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    known = _contacts(2)
    unknown = [f"missing-{n}" for n in range(15)]
    path = f"/lists/{lst['id']}/members"
    body = api.post(path, {"contact_ids": [known[0].public_id, *unknown]}, 422)
    message = body["fields"]["contact_ids"]
    assert "15 unknown" in message
    assert "missing-0" in message and "missing-9" in message
    assert "and 5 more" in message
    assert _members(db_session, lst["id"]) == set()

    api.post(path, {"contact_ids": [c.public_id for c in known]}, 200)
    api.delete(path, {"contact_ids": [known[0].public_id, "missing-0"]}, 422)
    assert _members(db_session, lst["id"]) == {c.id for c in known}


def test_malformed_member_bodies_are_422(api: Api) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    path = f"/lists/{lst['id']}/members"
    for body in (
        {},
        {"contact_ids": []},
        {"contact_ids": "abc"},
        {"contact_ids": [1, 2]},
        {"contact_ids": [""]},
    ):
        assert set(api.post(path, body, 422)["fields"]) == {"contact_ids"}
        assert set(api.delete(path, body, 422)["fields"]) == {"contact_ids"}


def test_more_than_10000_ids_is_422(api: Api) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    body = {"contact_ids": [f"id-{n}" for n in range(10_001)]}
    fields = api.post(f"/lists/{lst['id']}/members", body, 422)["fields"]
    assert "10000" in fields["contact_ids"]
    api.delete(f"/lists/{lst['id']}/members", body, 422)


def test_remove(api: Api, db_session: Session) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    people = _contacts(3)
    path = f"/lists/{lst['id']}/members"
    api.post(path, {"contact_ids": [p.public_id for p in people[:2]]}, 200)
    removed = api.delete(path, {"contact_ids": [p.public_id for p in people]})
    assert removed == {"requested": 3, "removed": 2, "not_members": 1}
    assert _members(db_session, lst["id"]) == set()
    assert api.get(f"/lists/{lst['id']}")["member_count"] == 0
    # Removing from a list never touches the contact itself.
    assert db_session.scalar(select(func.count()).select_from(Contact)) == 3


def test_members_are_paged(api: Api) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    outside = ContactFactory()
    people = _contacts(5)
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [p.public_id for p in reversed(people)]}, 200)
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get(
            f"/lists/{lst['id']}/members", query={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen.extend(c["id"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [p.public_id for p in people]
    assert outside.public_id not in seen
    assert set(api.get(f"/lists/{lst['id']}/members", 422, query={"limit": 0})["fields"]) == {"limit"}


def test_ten_thousand_members_in_one_call_with_a_few_statements(
    api: Api, db_session: Session, connection: Any
) -> None:
    lst = api.post("/lists", {"name": "Everyone"})
    public_ids = [new_public_id() for _ in range(10_000)]
    rows = [
        {
            "public_id": pid,
            "email": f"bulk{n}@example.org",
            "email_hash": address_hash(TEST_HASH_KEY, f"bulk{n}@example.org"),
            "attributes": {},
        }
        for n, pid in enumerate(public_ids)
    ]
    db_session.execute(insert(Contact), rows)
    db_session.commit()
    path = f"/lists/{lst['id']}/members"

    with sql_statements(connection) as statements:
        added = api.post(path, {"contact_ids": public_ids}, 200)
    assert added == {"requested": 10_000, "added": 10_000, "already_members": 0}
    # Set-based: resolve, insert, audit and auth; never one statement per id.
    assert len(statements) < 20, statements
    assert len(_members(db_session, lst["id"])) == 10_000

    with sql_statements(connection) as statements:
        removed = api.delete(path, {"contact_ids": public_ids[:5_000]})
    assert removed == {"requested": 5_000, "removed": 5_000, "not_members": 0}
    assert len(statements) < 20, statements
    assert api.get(f"/lists/{lst['id']}")["member_count"] == 5_000


def test_list_writes_are_audited_with_ids_only(api: Api, db_session: Session) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    person = ContactFactory()
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [person.public_id]}, 200)
    api.delete(f"/lists/{lst['id']}/members", {"contact_ids": [person.public_id]})
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "list")).all()
    assert [(e.action, e.subject_id, e.details) for e in events] == [
        ("list.create", str(lst["id"]), {}),
        ("list.members_add", str(lst["id"]), {"requested": 1, "added": 1}),
        ("list.members_remove", str(lst["id"]), {"requested": 1, "removed": 1}),
    ]


def test_dpo_reads_lists_but_cannot_change_them(
    api: Api, dpo_headers: dict[str, str], db_session: Session
) -> None:
    lst = api.post("/lists", {"name": "VIP"})
    person = ContactFactory()
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [person.public_id]}, 403, headers=dpo_headers)
    api.delete(f"/lists/{lst['id']}/members", {"contact_ids": [person.public_id]}, 403, headers=dpo_headers)
    assert api.get("/lists", headers=dpo_headers)["items"][0]["member_count"] == 0
    assert _members(db_session, lst["id"]) == set()
