"""Campaign API: drafts with templates checked at save time, preview, send, lifecycle, deliveries."""

from __future__ import annotations

from typing import Any

import pytest
from rq.job import Job
from sqlalchemy import func, select

from sender import create_app
from sender.models import Delivery
from sender.runtime import Runtime
from tests.api.helpers import Api, create_contact, create_purpose, grant

BODY = {
    "name": "December news",
    "subject": "News for you, {{ contact.first_name }}",
    "body_text": "Hello {{ contact.first_name }}!",
    "body_html": "<p>Hello {{ contact.first_name }}!</p>",
}


@pytest.fixture
def audience(api: Api) -> dict[str, Any]:
    """A purpose and a list with one consenting and one non-consenting contact."""
    create_purpose(api)
    yes = create_contact(api, email="yes@example.org", first_name="Ana")
    no = create_contact(api, email="no@example.org")
    grant(api, yes["id"])
    lst = api.post("/lists", {"name": "All"})
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [yes["id"], no["id"]]}, status=200)
    return {"list": lst["id"], "yes": yes["id"], "no": no["id"]}


def _draft(api: Api, audience: dict[str, Any], **changes: Any) -> dict[str, Any]:
    created: dict[str, Any] = api.post(
        "/campaigns", {**BODY, "purpose": "newsletter", "lists": [audience["list"]], **changes}
    )
    return created


def test_create_and_get_a_draft(api: Api, audience: dict[str, Any]) -> None:
    created = _draft(api, audience)
    assert created["status"] == "draft" and created["lists"] == [audience["list"]]
    assert api.get(f"/campaigns/{created['id']}") == created
    assert [c["id"] for c in api.get("/campaigns")["items"]] == [created["id"]]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"body_text": "Hello\n{{ contact.first_name "}, "body_text", "line 2"),
        ({"body_html": "<p>{{ contact.email }}</p>"}, "body_html", "email"),
        ({"subject": "{{ contact.__class__ }}"}, "subject", ""),
        ({"purpose": "nope"}, "purpose", "nope"),
        ({"lists": [999999]}, "lists", "999999"),
        ({"lists": []}, "lists", "non-empty"),
        ({"channel": "fax"}, "channel", "email"),
        ({"kind": "requalification"}, "kind", "marketing"),
        ({"scheduled_at": "tomorrow"}, "scheduled_at", ""),
        ({"scheduled_at": "2030-01-01T09:00:00"}, "scheduled_at", "time zone"),
        ({"name": ""}, "name", "required"),
        ({"template_id": 999999}, "template_id", "no such template"),
        ({"template_id": 0}, "template_id", ""),
        ({"template_id": "newsletter"}, "template_id", ""),
    ],
)
def test_bad_drafts_are_refused_field_by_field(
    api: Api, audience: dict[str, Any], changes: dict[str, Any], field: str, fragment: str
) -> None:
    body = api.post(
        "/campaigns", {**BODY, "purpose": "newsletter", "lists": [audience["list"]], **changes}, 422
    )
    assert field in body["fields"] and fragment in body["fields"][field]
    assert api.get("/campaigns")["items"] == []


def test_preview_counts_and_writes_nothing(api: Api, audience: dict[str, Any], db_session: Any) -> None:
    campaign = _draft(api, audience)
    preview = api.post(f"/campaigns/{campaign['id']}/audience-preview", None, 200)
    assert preview == {"queued": 1, "skipped": {"no_consent": 1}}
    assert db_session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_send_plans_deliveries_and_enqueues_one_job_per_batch(
    api: Api, audience: dict[str, Any], runtime: Runtime, redis_conn: Any
) -> None:
    campaign = _draft(api, audience)
    sent = api.post(f"/campaigns/{campaign['id']}/send", None, 202)
    assert sent == {"status": "sending", "queued": 1, "skipped": {"no_consent": 1}}
    job = Job.fetch(
        f"campaign-{campaign['id']}-batch-0", connection=redis_conn, serializer=runtime.queue().serializer
    )
    assert job.args == [campaign["id"], 0]
    assert api.get(f"/campaigns/{campaign['id']}")["counts"] == {
        "by_status": {"queued": 1, "skipped": 1},
        "skipped": {"no_consent": 1},
    }
    again = api.post(f"/campaigns/{campaign['id']}/send", None, 409)
    assert "sending" in again["message"]


def test_lifecycle_pause_resume_cancel(api: Api, audience: dict[str, Any], redis_conn: Any) -> None:
    campaign = _draft(api, audience)
    cid = campaign["id"]
    api.post(f"/campaigns/{cid}/pause", None, 409)  # a draft is not sending
    api.post(f"/campaigns/{cid}/send", None, 202)
    assert api.post(f"/campaigns/{cid}/pause", None, 200)["status"] == "paused"
    assert api.post(f"/campaigns/{cid}/resume", None, 200)["status"] == "sending"
    cancelled = api.post(f"/campaigns/{cid}/cancel", None, 200)
    assert cancelled["status"] == "cancelled"
    assert cancelled["counts"]["by_status"] == {"cancelled": 1, "skipped": 1}
    api.post(f"/campaigns/{cid}/resume", None, 409)


def test_deliveries_are_paged_and_filtered(api: Api, audience: dict[str, Any], redis_conn: Any) -> None:
    campaign = _draft(api, audience)
    api.post(f"/campaigns/{campaign['id']}/send", None, 202)
    first = api.get(f"/campaigns/{campaign['id']}/deliveries", query={"limit": 1})
    second = api.get(
        f"/campaigns/{campaign['id']}/deliveries", query={"limit": 1, "cursor": first["next_cursor"]}
    )
    assert second["next_cursor"] is None
    contacts = {first["items"][0]["contact"], second["items"][0]["contact"]}
    assert contacts == {audience["yes"], audience["no"]}
    skipped = api.get(f"/campaigns/{campaign['id']}/deliveries", query={"status": "skipped"})["items"]
    assert [(d["contact"], d["reason"]) for d in skipped] == [(audience["no"], "no_consent")]
    bad = api.get(f"/campaigns/{campaign['id']}/deliveries", 422, query={"status": "lost"})
    assert "status" in bad["fields"]


def test_future_schedule_waits_for_the_scheduler(api: Api, audience: dict[str, Any], redis_conn: Any) -> None:
    campaign = _draft(api, audience, scheduled_at="2099-01-01T09:00:00Z")
    answer = api.post(f"/campaigns/{campaign['id']}/send", None, 202)
    assert answer == {"status": "scheduled", "queued": 0, "skipped": {}}
    assert api.get(f"/campaigns/{campaign['id']}")["counts"]["by_status"] == {}


def test_a_scheduled_campaign_is_sent_early_only_when_asked_for_now(
    api: Api, audience: dict[str, Any], redis_conn: Any
) -> None:
    campaign = _draft(api, audience, scheduled_at="2099-01-01T09:00:00Z")
    api.post(f"/campaigns/{campaign['id']}/send", None, 202)

    # A retried call must not turn a campaign scheduled for later into one sent now.
    refused = api.post(f"/campaigns/{campaign['id']}/send", None, 409)
    assert "2099-01-01T09:00:00Z" in refused["message"] and '"now": true' in refused["message"]
    assert api.get(f"/campaigns/{campaign['id']}")["status"] == "scheduled"
    api.post(f"/campaigns/{campaign['id']}/send", {"now": "yes"}, 422)

    sent = api.post(f"/campaigns/{campaign['id']}/send", {"now": True}, 202)
    assert sent == {"status": "sending", "queued": 1, "skipped": {"no_consent": 1}}


def test_dpo_cannot_send(api: Api, audience: dict[str, Any], dpo_headers: dict[str, str]) -> None:
    campaign = _draft(api, audience)
    api.call("POST", f"/campaigns/{campaign['id']}/send", 403, headers=dpo_headers)
    assert api.get(f"/campaigns/{campaign['id']}", headers=dpo_headers)["status"] == "draft"


def test_unknown_campaign_is_404(api: Api) -> None:
    api.get("/campaigns/424242", 404)
    api.post("/campaigns/424242/send", None, 404)


def test_launch_needs_the_sender_identity(
    runtime: Runtime, api: Api, audience: dict[str, Any], openapi_doc: dict[str, Any]
) -> None:
    campaign = _draft(api, audience)
    anonymous = Runtime(
        settings=runtime.settings.with_overrides(org_name="", org_address=""),
        engine=runtime.engine,
        Session=runtime.Session,
        tokens=runtime.tokens,
    )
    app = create_app({"TESTING": True}, runtime=anonymous)
    other = Api(app, app.test_client(), api.headers, openapi_doc)
    body = other.post(f"/campaigns/{campaign['id']}/send", None, 422)
    assert set(body["fields"]) == {"ORG_NAME", "ORG_ADDRESS"}
    assert api.get(f"/campaigns/{campaign['id']}")["status"] == "draft"


def test_a_draft_wraps_its_body_in_a_library_template_frozen_at_launch(
    api: Api, audience: dict[str, Any], db_session: Any, redis_conn: Any
) -> None:
    from sender.models import Template
    from sender.services.composer import templates

    templates.ensure_built_ins(db_session)
    db_session.commit()
    newsletter = db_session.scalars(select(Template).where(Template.key == "newsletter")).one()
    created = _draft(api, audience, template_id=newsletter.id)
    assert created["template_id"] == newsletter.id
    assert api.get(f"/campaigns/{created['id']}")["template_id"] == newsletter.id
    assert _draft(api, audience)["template_id"] is None
    copy = templates.duplicate(db_session, newsletter, "admin@exemple.org")
    db_session.commit()
    mine = _draft(api, audience, template_id=copy.id)
    assert not templates.is_frozen(db_session, copy)
    api.post(f"/campaigns/{mine['id']}/send", None, 202)
    db_session.expire_all()
    assert db_session.get(Template, copy.id).frozen_at is not None
    assert templates.is_frozen(db_session, copy)
