"""Processors inventory, DPIA gate and register of processing through the API (R71, R75, R76)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sender import create_app
from sender.enums import Channel
from sender.runtime import Runtime
from tests.api.helpers import PREFIX, Api, create_contact, create_purpose, grant
from tests.api.test_campaigns import _draft, audience  # noqa: F401  (the fixture)
from tests.clock import PARIS_HALF_PAST_MIDNIGHT, PARIS_TODAY, PARIS_TOMORROW, move_clock
from tests.queues import QueuedRuntime
from tests.sms_fixtures import sms_app, sms_runtime, sms_settings, twilio  # noqa: F401  (fixtures)

RELAY = "smtp://relay.example.com:2525"
DOCUMENTED = {
    "name": "Relay Inc.",
    "role": "delivers email",
    "country": "US",
    "transfer_mechanism": "scc",
    "contract_ref": "DPA-2025-07",
    "since": "2025-07-01",
}


@pytest.fixture
def relay_api(api: Api, runtime: Runtime, openapi_doc: dict[str, Any]) -> Api:
    """The same API and database, on a deployment that sends email through an SMTP relay."""
    relayed = QueuedRuntime(
        settings=runtime.settings.with_overrides(smtp_url=RELAY),
        engine=runtime.engine,
        Session=runtime.Session,
        tokens=runtime.tokens,
    )
    app = create_app({"TESTING": True}, runtime=relayed)
    return Api(app, app.test_client(), api.headers, openapi_doc)


def put(api: Api, path: str, body: Any, status: int = 200) -> Any:
    """A PUT checked against the document."""
    return api.call("PUT", path, status, json=body)


def test_the_relay_appears_to_complete_and_the_outbox_needs_none(api: Api, relay_api: Api) -> None:
    assert api.get("/processors")["items"] == []  # the local outbox hands data to nobody
    (relay,) = relay_api.get("/processors")["items"]
    assert (relay["key"], relay["name"], relay["in_use"]) == ("email", "relay.example.com", True)
    assert relay["missing"] == ["country", "transfer_mechanism", "contract_ref", "since"]


def test_a_launch_through_an_undocumented_non_eea_relay_is_refused_then_allowed(
    relay_api: Api,
    audience: dict[str, Any],  # noqa: F811
) -> None:
    campaign = _draft(relay_api, audience)
    put(relay_api, "/processors/email", {"name": "Relay Inc.", "role": "delivers email", "country": "US"})
    refused = relay_api.post(f"/campaigns/{campaign['id']}/send", None, 422)
    assert list(refused["fields"]) == ["transfer_mechanism"]
    assert "Relay Inc. (US) is outside the EEA" in refused["fields"]["transfer_mechanism"]
    assert relay_api.get(f"/campaigns/{campaign['id']}")["status"] == "draft"
    put(relay_api, "/processors/email", {**DOCUMENTED, "transfer_mechanism": "none"})
    relay_api.post(f"/campaigns/{campaign['id']}/send", None, 422)
    entry = put(relay_api, "/processors/email", DOCUMENTED)
    assert entry["missing"] == [] and entry["outside_eea"] is True
    assert relay_api.post(f"/campaigns/{campaign['id']}/send", None, 202)["status"] == "sending"


def test_the_outbox_launches_whatever_the_relay_entry_says(
    api: Api,
    audience: dict[str, Any],  # noqa: F811
) -> None:
    put(api, "/processors/email", {"name": "Relay Inc.", "role": "delivers email", "country": "US"})
    (entry,) = api.get("/processors")["items"]
    assert entry["in_use"] is False
    campaign = _draft(api, audience)
    assert api.post(f"/campaigns/{campaign['id']}/send", None, 202)["status"] == "sending"


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"name": "X", "role": "r", "country": "usa"}, "country", "ISO 3166-1"),
        ({"name": "X", "role": "r", "transfer_mechanism": "trust"}, "transfer_mechanism", "scc"),
        (
            {"name": "X", "role": "r", "country": "US", "transfer_mechanism": "eea"},
            "transfer_mechanism",
            "EEA",
        ),
        ({"name": "X", "role": "r", "since": "2999-01-01"}, "since", "future"),
        ({"name": "", "role": "r"}, "name", ""),
    ],
)
def test_bad_processor_facts_are_named_and_nothing_is_written(
    api: Api, body: dict[str, Any], field: str, fragment: str
) -> None:
    refused = put(api, "/processors/hosting", body, 422)
    assert fragment in refused["fields"][field]
    assert api.get("/processors")["items"] == []


def test_the_dpia_gate_refuses_then_allows(api: Api, audience: dict[str, Any]) -> None:  # noqa: F811
    campaign = _draft(api, audience)
    required = put(api, "/purposes/newsletter/dpia/requirement", {"reasons": ["profiling", "external_data"]})
    assert required["blocking"] and "profiling" in required["blocking"]
    refused = api.post(f"/campaigns/{campaign['id']}/send", None, 422)
    assert "DPIA is required" in refused["fields"]["dpia"]
    record = {"reference": "DPIA-7", "assessed_on": "2025-11-02", "reviewer": "DPO office"}
    put(api, "/purposes/newsletter/dpia", {**record, "outcome": "prior_consultation"})
    assert "residual risk" in api.post(f"/campaigns/{campaign['id']}/send", None, 422)["fields"]["dpia"]
    attached = put(api, "/purposes/newsletter/dpia", {**record, "outcome": "acceptable_with_measures"})
    assert attached["blocking"] is None and api.get("/purposes/newsletter/dpia") == attached
    assert api.post(f"/campaigns/{campaign['id']}/send", None, 202)["status"] == "sending"


def test_the_register_exports_in_three_formats(client: FlaskClient, api: Api, relay_api: Api) -> None:
    document = relay_api.get("/register")
    keys = [a["key"] for a in document["activities"]]
    assert keys == [
        *(f"sending:{channel}" for channel in Channel),
        "signup",
        "rights",
        "requalification",
        "sms_replies",
        "staff",
    ]
    sending = document["activities"][0]
    assert "processor email: country, transfer_mechanism, contract_ref, since" in sending["missing"]
    as_csv = client.get(PREFIX + "/register?format=csv", headers=api.headers)
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert [r["key"] for r in rows] == keys
    as_html = client.get(PREFIX + "/register?format=html", headers=api.headers)
    assert as_html.mimetype == "text/html" and "Register of processing activities" in as_html.get_data(
        as_text=True
    )
    api.get("/register?format=pdf", 422)


def test_twilio_is_derived_with_its_safeguard_and_a_mechanism_of_none_stops_sms_launches(
    api: Api,
    sms_app: Flask,  # noqa: F811
    openapi_doc: dict[str, Any],
) -> None:
    sms_api = Api(sms_app, sms_app.test_client(), api.headers, openapi_doc)
    (twilio_entry,) = sms_api.get("/processors")["items"]
    assert (twilio_entry["key"], twilio_entry["name"], twilio_entry["country"]) == (
        "sms",
        "Twilio Inc.",
        "US",
    )
    assert twilio_entry["transfer_mechanism"] == "bcr"
    assert twilio_entry["missing"] == ["contract_ref", "since"]
    create_purpose(sms_api)
    person = create_contact(sms_api, phone="+33612345678")
    grant(sms_api, person["id"], channel="sms")
    lst = sms_api.post("/lists", {"name": "Phones"})
    sms_api.post(f"/lists/{lst['id']}/members", {"contact_ids": [person["id"]]}, status=200)
    campaign = sms_api.post(
        "/campaigns",
        {
            "name": "Sale",
            "purpose": "newsletter",
            "channel": "sms",
            "lists": [lst["id"]],
            "body_text": "Sale!",
        },
    )
    facts = {"name": "Twilio Inc.", "role": "delivers SMS", "country": "US", "transfer_mechanism": "none"}
    put(sms_api, "/processors/sms", facts)
    refused = sms_api.post(f"/campaigns/{campaign['id']}/send", None, 422)
    assert "Twilio Inc. (US) is outside the EEA" in refused["fields"]["transfer_mechanism"]
    put(sms_api, "/processors/sms", {**facts, "transfer_mechanism": "bcr", "contract_ref": "Twilio DPA"})
    assert sms_api.post(f"/campaigns/{campaign['id']}/send", None, 202)["status"] == "sending"


def test_a_processor_since_today_in_paris_is_accepted_just_after_midnight(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 00:30 in Paris is 23:30 UTC the day before: today in the organisation's zone is not in the future.
    move_clock(monkeypatch, PARIS_HALF_PAST_MIDNIGHT)
    refused = put(api, "/processors/hosting", {"name": "Host", "role": "r", "since": PARIS_TOMORROW}, 422)
    assert "future" in refused["fields"]["since"]
    entry = put(api, "/processors/hosting", {"name": "Host", "role": "r", "since": PARIS_TODAY})
    assert entry["since"] == PARIS_TODAY


def test_a_dpia_assessed_today_in_paris_is_attached_just_after_midnight(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_purpose(api)
    move_clock(monkeypatch, PARIS_HALF_PAST_MIDNIGHT)
    record = {"reference": "DPIA-8", "reviewer": "DPO office", "outcome": "acceptable"}
    refused = put(api, "/purposes/newsletter/dpia", {**record, "assessed_on": PARIS_TOMORROW}, 422)
    assert "future" in refused["fields"]["assessed_on"]
    attached = put(api, "/purposes/newsletter/dpia", {**record, "assessed_on": PARIS_TODAY})
    assert attached["assessed_on"] == PARIS_TODAY
