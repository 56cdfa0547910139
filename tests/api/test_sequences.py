"""The sequences resource: build, validate, preview, activate and pause, through HTTP and the document."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Campaign, Enrolment
from tests.api.helpers import Api, create_contact, create_purpose, grant

STEP = {"subject": "Bonjour {{ contact.first_name }}", "body_source": "# Bonjour", "body_format": "markdown"}
WELCOME: dict[str, Any] = {
    "name": "Welcome",
    "purpose": "newsletter",
    "trigger": "consent",
    "steps": [
        {**STEP, "body_text_derived": True},
        {"channel": "email", "delay_value": 3, "delay_unit": "days", "at_time": "09:30", "subject": "Tips",
         "body_html": "<p>Tips</p>", "body_text": "Tips"},
    ],
}  # fmt: skip


def test_a_sequence_is_built_previewed_activated_and_paused(api: Api, db_session: Session) -> None:
    create_purpose(api)
    created = api.post("/sequences", WELCOME)
    assert (created["status"], created["trigger"], len(created["steps"])) == ("draft", "consent", 2)
    second = created["steps"][1]
    assert (second["delay_value"], second["delay_unit"], second["at_time"]) == (3, "days", "09:30")

    preview = api.get(f"/sequences/{created['id']}/steps/1/preview")
    assert preview["subject"].startswith("Bonjour") and "Bonjour" in preview["text"]
    assert "<h1>Bonjour</h1>" in preview["html"]
    api.get(f"/sequences/{created['id']}/steps/3/preview", 404)

    # Each step is an internal campaign: not in the campaign list, not reachable as a campaign.
    assert all(c["kind"] != "sequence" for c in api.get("/campaigns")["items"])
    api.get(f"/campaigns/{second['campaign_id']}", 404)

    active = api.post(f"/sequences/{created['id']}/activate", None, 200)
    assert active["status"] == "active"
    statuses = db_session.scalars(select(Campaign.status).where(Campaign.kind == "sequence")).all()
    assert statuses == ["sending", "sending"]
    api.call("PUT", f"/sequences/{created['id']}", 409, json=WELCOME)
    api.post(f"/sequences/{created['id']}/activate", None, 409)
    paused = api.post(f"/sequences/{created['id']}/pause", None, 200)
    assert paused["status"] == "paused"
    db_session.expire_all()
    assert (
        db_session.scalars(select(Campaign.status).where(Campaign.kind == "sequence")).all() == ["paused"] * 2
    )


def test_refusals_name_the_field(api: Api) -> None:
    create_purpose(api)
    bad_time = {**WELCOME, "steps": [{**WELCOME["steps"][1], "at_time": "25:99"}]}
    assert "at_time" in api.post("/sequences", bad_time, 422)["fields"]["steps"]
    no_list = {**WELCOME, "trigger": "list"}
    assert "trigger_list_id" in api.post("/sequences", no_list, 422)["fields"]
    no_body = {**WELCOME, "steps": [{"subject": "Hi"}]}
    assert set(api.post("/sequences", no_body, 422)["fields"]) == {"steps.0.body_text"}
    assert "purpose" in api.post("/sequences", {**WELCOME, "purpose": "nope"}, 422)["fields"]


def test_a_grant_enrols_once_and_a_withdrawal_exits(api: Api, db_session: Session) -> None:
    create_purpose(api)
    sequence = api.post("/sequences", WELCOME)
    contact = create_contact(api)
    grant(api, contact["id"])  # before activation: nobody enters a draft
    assert db_session.scalars(select(Enrolment)).all() == []
    api.post(f"/sequences/{sequence['id']}/activate", None, 200)
    grant(api, contact["id"])
    grant(api, contact["id"])
    (enrolment,) = db_session.scalars(select(Enrolment)).all()
    assert (enrolment.status, enrolment.step) == ("active", 0)
    api.post(
        f"/contacts/{contact['id']}/consents",
        {"purpose": "newsletter", "channel": "email", "action": "withdraw", "mechanism": "form"},
    )
    db_session.expire_all()
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "withdrawn")
    assert api.get(f"/sequences/{sequence['id']}")["funnel"] == {
        "entered": 1,
        "active": 0,
        "completed": 0,
        "exited": 1,
    }
