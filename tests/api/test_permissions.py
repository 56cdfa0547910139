"""The permission table, walked whole: each role against each operation of the OpenAPI document."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.models.users import ROLES
from tests.api.helpers import PREFIX, Api, create_contact, create_purpose, grant
from tests.api.test_campaigns import BODY

ALL = frozenset(ROLES)
WRITERS = frozenset({"admin", "marketer"})
REGISTER = frozenset({"admin", "dpo"})
ADMINS = frozenset({"admin"})

# operationId -> roles allowed. Written out here, not read from the code, so a change to the table fails.
EXPECTED: dict[str, frozenset[str]] = {
    "createPurpose": REGISTER,
    "listPurposes": ALL,
    "getPurpose": ALL,
    "addWording": REGISTER,
    "listWordings": ALL,
    "createContact": WRITERS,
    "listContacts": ALL,
    "getContact": ALL,
    "updateContact": WRITERS,
    "recordConsent": WRITERS,
    "listConsents": ALL,
    "checkEligibility": ALL,
    "createList": WRITERS,
    "listLists": ALL,
    "getList": ALL,
    "addMembers": WRITERS,
    "removeMembers": WRITERS,
    "listMembers": ALL,
    "createCampaign": WRITERS,
    "listCampaigns": ALL,
    "getCampaign": ALL,
    "previewAudience": ALL,
    "duplicateCampaign": WRITERS,
    "sendCampaign": WRITERS,
    "pickAbTestWinner": WRITERS,
    "pauseCampaign": WRITERS,
    "resumeCampaign": WRITERS,
    "cancelCampaign": WRITERS,
    "listDeliveries": ALL,
    "createImport": WRITERS,
    "commitImport": WRITERS,
    "listImports": ALL,
    "getImport": ALL,
    "getImportReport": ALL,
    "getImportReportCsv": ALL,
    "listSmsReplies": ALL,
    "reviewSmsReply": WRITERS,
    "createRightsRequest": REGISTER,
    "listRightsRequests": REGISTER,
    "getRightsRequest": REGISTER,
    "extendRightsRequest": REGISTER,
    "closeRightsRequest": REGISTER,
    "createRequalification": WRITERS,
    "listRequalifications": ALL,
    "getRequalification": ALL,
    "approveCampaign": REGISTER,
    "recordInteraction": WRITERS,
    # The breach register and the proofs are the DPO's records: marketers neither read nor edit them.
    "createBreachIncident": REGISTER,
    "listBreachIncidents": REGISTER,
    "getBreachIncident": REGISTER,
    "updateBreachIncident": REGISTER,
    "notifyBreachIncident": REGISTER,
    "exportBreachNotification": REGISTER,
    "attachBreachNotice": REGISTER,
    "approveBreachNotice": REGISTER,
    "getContactHonouring": REGISTER,
    "getContactConsentProof": REGISTER,
    "getPeriodHonouring": REGISTER,
    "listProcessors": REGISTER,
    "putProcessor": REGISTER,
    "getDpia": REGISTER,
    "putDpiaRequirement": REGISTER,
    "putDpia": REGISTER,
    "exportRegister": REGISTER,
    "listAuditEvents": REGISTER,
    "verifyAuditTrail": REGISTER,
    "sendTransactionalMessage": WRITERS,
    "getTransactionalMessage": ALL,
    # Outgoing webhooks send data to other systems: admins alone set where it goes and read the log.
    "createWebhookEndpoint": ADMINS,
    "listWebhookEndpoints": ADMINS,
    "getWebhookEndpoint": ADMINS,
    "updateWebhookEndpoint": ADMINS,
    "deleteWebhookEndpoint": ADMINS,
    "listWebhookDeliveries": ADMINS,
    "replayWebhookDelivery": ADMINS,
    "createSequence": WRITERS,
    "listSequences": ALL,
    "getSequence": ALL,
    "updateSequence": WRITERS,
    "previewSequenceStep": ALL,
    "activateSequence": WRITERS,
    "pauseSequence": WRITERS,
}
# Allowed, these would change the campaign for the calls after them: they aim at a missing one (404).
DESTRUCTIVE = {"sendCampaign", "cancelCampaign"}


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if path != "/openapi.json":
                found.append((operation["operationId"], method.upper(), path))
    return found


@pytest.fixture
def world(api: Api) -> dict[str, str]:
    """One record of each kind, so that path parameters resolve."""
    create_purpose(api)
    contact = create_contact(api)
    grant(api, contact["id"])
    lst = api.post("/lists", {"name": "All"})
    api.post(f"/lists/{lst['id']}/members", {"contact_ids": [contact["id"]]}, status=200)
    campaign = api.post("/campaigns", {**BODY, "purpose": "newsletter", "lists": [lst["id"]]})
    step = {"subject": "Hello", "body_html": "<p>Hello</p>", "body_text_derived": True}
    sequence = api.post(
        "/sequences", {"name": "W", "purpose": "newsletter", "trigger": "consent", "steps": [step]}
    )
    return {
        "sequence_id": str(sequence["id"]),
        "step": "1",
        "slug": "newsletter",
        "public_id": contact["id"],
        "list_id": str(lst["id"]),
        "campaign_id": str(campaign["id"]),
        # No import exists: allowed reads of one answer 404, which still proves the role got through.
        "batch_id": "999999",
        "reply_id": "999999",
        "incident_id": "999999",
        "key": "hosting",
        "endpoint_id": "999999",
        "delivery_id": "999999",
    }


def test_the_expected_table_covers_every_operation(openapi_doc: dict[str, Any]) -> None:
    assert {op for op, _, _ in _operations(openapi_doc)} == set(EXPECTED)


def test_the_document_lists_the_roles_of_each_operation(openapi_doc: dict[str, Any]) -> None:
    for operation_id, method, path in _operations(openapi_doc):
        documented = openapi_doc["paths"][path][method.lower()]["x-roles"]
        assert set(documented) == EXPECTED[operation_id], operation_id


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_operation(
    client: FlaskClient,
    api: Api,
    role_headers: dict[str, dict[str, str]],
    world: dict[str, str],
    openapi_doc: dict[str, Any],
    role: str,
) -> None:
    headers = role_headers[role]
    for operation_id, method, template in _operations(openapi_doc):
        allowed = role in EXPECTED[operation_id]
        values = {**world, "campaign_id": "999999"} if allowed and operation_id in DESTRUCTIVE else world
        path = re.sub(r"{(\w+)}", lambda m, values=values: values[m.group(1)], template)
        operation = openapi_doc["paths"][template][method.lower()]
        # An empty body: an allowed write fails validation (422) and changes nothing; a refused one is 403.
        body = {} if "requestBody" in operation else None
        response = client.open(PREFIX + path, method=method, json=body, headers=headers)
        if allowed:
            assert response.status_code not in (401, 403), (role, operation_id, response.get_json())
        else:
            assert response.status_code == 403, (role, operation_id, response.status_code)
            assert response.get_json()["error"] == "forbidden"
        api.check(method, path, response.status_code, response.get_json())


def test_dpo_keeps_the_register_and_previews_but_cannot_send(
    api: Api, dpo_headers: dict[str, str], world: dict[str, str], db_session: Session
) -> None:
    created = api.post(
        "/purposes", {"slug": "events", "name": "Events", "description": "D."}, headers=dpo_headers
    )
    assert created["slug"] == "events"
    wording = api.post("/purposes/events/wordings", {"text": "Yes, invite me."}, headers=dpo_headers)
    assert wording["version"] == 1
    campaign = world["campaign_id"]
    preview = api.post(f"/campaigns/{campaign}/audience-preview", None, 200, headers=dpo_headers)
    assert preview == {"queued": 1, "skipped": {}}
    api.post(f"/campaigns/{campaign}/send", None, 403, headers=dpo_headers)
    assert api.get(f"/campaigns/{campaign}")["status"] == "draft"


def test_marketer_cannot_touch_the_register(api: Api, role_headers: dict[str, dict[str, str]]) -> None:
    marketer = role_headers["marketer"]
    api.post("/purposes", {"slug": "events", "name": "Events", "description": "D."}, 403, headers=marketer)
    api.post("/purposes/newsletter/wordings", {"text": "Other text."}, 403, headers=marketer)
    assert [p["slug"] for p in api.get("/purposes")["items"]] == []
