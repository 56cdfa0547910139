"""The permission matrix: every role against every staff action, 403 exactly where the matrix says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.models import Segment, Template, User
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.services.campaigns import requalify
from sender.services.records import breaches
from sender.web.admin.auth import PERMISSIONS
from tests.admin.conftest import post
from tests.admin.webhook_world import webhook_with_delivery, welcome_sequence
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory

ROLES = ("admin", "marketer", "dpo")


@dataclass(frozen=True)
class Action:
    """One thing a page lets someone do."""

    name: str
    method: str
    url: str
    permission: str
    data: dict[str, str] | None = None


ACTIONS = [
    Action("dashboard", "GET", "/admin/", "view"),
    Action("progress", "GET", "/admin/campaigns/{campaign}/progress", "view"),
    Action("organisation view", "GET", "/admin/organisation", "view"),
    Action(
        "organisation edit",
        "POST",
        "/admin/organisation",
        "organisation.edit",
        {
            "legal_name": "X",
            "postal_address": "Y",
            "contact_email": "c@exemple.org",
            "timezone": "Europe/Paris",
        },
    ),
    Action("organisation dkim", "POST", "/admin/organisation/dkim", "organisation.edit", {"selector": "s1"}),
    Action("audit trail", "GET", "/admin/audit", "audit.read"),
    Action("audit export", "GET", "/admin/audit/export.csv", "audit.read"),
    Action("audit verify", "POST", "/admin/audit/verify", "audit.read"),
    Action("rights register", "GET", "/admin/rights-requests", "rights.read"),
    Action("rights register export", "GET", "/admin/rights-requests.csv", "rights.read"),
    Action("contacts search", "GET", "/admin/contacts?q=a", "view"),
    Action("contact page", "GET", "/admin/contacts/{contact}", "view"),
    Action("contact new", "GET", "/admin/contacts/new", "contacts.edit"),
    Action("contact create", "POST", "/admin/contacts/new", "contacts.edit", {"email": "n@exemple.org"}),
    Action(
        "consent record",
        "POST",
        "/admin/contacts/{contact}/consents",
        "contacts.edit",
        {
            "purpose": "{purpose}",
            "channel": "email",
            "action": "grant",
            "mechanism": "checkbox",
            "wording_version": "1",
        },
    ),
    Action("tags", "POST", "/admin/contacts/{contact}/tags", "contacts.edit", {"tags": "a"}),
    Action("contact edit page", "GET", "/admin/contacts/{contact}/edit", "contacts.edit"),
    Action("contact edit", "POST", "/admin/contacts/{contact}/edit", "contacts.edit", {"first_name": "Lou"}),
    Action("contact to list", "POST", "/admin/contacts/{contact}/lists", "lists.edit", {"list_id": "{list}"}),
    Action("restrict", "POST", "/admin/contacts/{contact}/restrict", "contacts.restrict"),
    Action("erase page", "GET", "/admin/contacts/{contact}/erase", "contacts.erase"),
    Action("erase", "POST", "/admin/contacts/{contact}/erase", "contacts.erase", {"confirm": "y"}),
    Action("lists", "GET", "/admin/lists", "view"),
    Action("list create", "POST", "/admin/lists", "lists.edit", {"name": "New list"}),
    Action("list page", "GET", "/admin/lists/{list}", "view"),
    Action("list add", "POST", "/admin/lists/{list}/members", "lists.edit", {"emails": "x@exemple.org"}),
    Action(
        "list add from",
        "POST",
        "/admin/lists/add",
        "lists.edit",
        {"list_id": "{list}", "segment": "{segment}"},
    ),
    Action(
        "segment new", "POST", "/admin/segments/new", "lists.edit", {"name": "Seg 2", "groups-0-tags": "vip"}
    ),
    Action("segment preview", "POST", "/admin/segments/preview", "view", {"groups-0-tags": "vip"}),
    Action("segment page", "GET", "/admin/segments/{segment}", "view"),
    Action("segment edit", "POST", "/admin/segments/{segment}", "lists.edit", {"name": "Seg renamed"}),
    Action("segment delete", "POST", "/admin/segments/{segment}/delete", "lists.edit"),
    Action("purposes", "GET", "/admin/purposes", "view"),
    Action(
        "purpose create",
        "POST",
        "/admin/purposes",
        "purposes.edit",
        {
            "slug": "new-one",
            "name": "N",
            "description": "D",
            "legal_basis": "consent",
            "retention_days": "30",
        },
    ),
    Action("purpose page", "GET", "/admin/purposes/{purpose}", "view"),
    Action(
        "wording add", "POST", "/admin/purposes/{purpose}/wordings", "purposes.edit", {"text": "New text"}
    ),
    Action("wording edit", "POST", "/admin/wordings/{wording}", "purposes.edit", {"text": "Fixed text"}),
    Action("campaigns", "GET", "/admin/campaigns", "view"),
    Action("campaign new", "GET", "/admin/campaigns/new", "campaigns.edit"),
    Action("campaign page", "GET", "/admin/campaigns/{campaign}", "view"),
    Action("campaign message", "GET", "/admin/campaigns/{campaign}/message.html", "view"),
    Action("campaign sample", "POST", "/admin/campaigns/{campaign}/sample", "view", {"preview_address": ""}),
    Action("campaign edit", "GET", "/admin/campaigns/{campaign}/edit", "campaigns.edit"),
    Action("campaign audience", "GET", "/admin/campaigns/{campaign}/audience", "view"),
    Action(
        "live preview",
        "POST",
        "/admin/campaigns/preview",
        "campaigns.edit",
        {"purpose": "{purpose}", "subject": "Hi", "body_text": "Hello"},
    ),
    Action(
        "live preview frame",
        "POST",
        "/admin/campaigns/preview.html",
        "campaigns.edit",
        {"purpose": "{purpose}", "subject": "Hi", "body_text": "Hello"},
    ),
    Action(
        "sms segments",
        "POST",
        "/admin/campaigns/sms-segments",
        "campaigns.edit",
        {"kind": "marketing", "body_text": "Hello"},
    ),
    Action(
        "test send",
        "POST",
        "/admin/campaigns/{campaign}/test",
        "campaigns.edit",
        {"address": "t@exemple.org"},
    ),
    Action(
        "schedule",
        "POST",
        "/admin/campaigns/{campaign}/schedule",
        "campaigns.send",
        {"when": "2099-01-01T09:00"},
    ),
    Action("send confirmation", "GET", "/admin/campaigns/{campaign}/send", "campaigns.send"),
    Action("send", "POST", "/admin/campaigns/{campaign}/send", "campaigns.send", {"confirm": "yes"}),
    Action("A/B test page", "GET", "/admin/campaigns/{campaign}/ab-test", "campaigns.edit"),
    Action(
        "A/B test save",
        "POST",
        "/admin/campaigns/{campaign}/ab-test",
        "campaigns.edit",
        {"subject_1": "Other", "test_percent": "10", "wait_hours": "2", "decide_by": "manual"},
    ),
    Action("A/B winner", "POST", "/admin/campaigns/{campaign}/ab-winner", "campaigns.send", {"variant": "A"}),
    Action("pause", "POST", "/admin/campaigns/{campaign}/pause", "campaigns.send"),
    Action("resume", "POST", "/admin/campaigns/{campaign}/resume", "campaigns.send"),
    Action("cancel", "POST", "/admin/campaigns/{campaign}/cancel", "campaigns.send"),
    Action("delete draft", "POST", "/admin/campaigns/{campaign}/delete", "campaigns.edit"),
    Action("export", "GET", "/admin/campaigns/{campaign}/deliveries.csv", "view"),
    Action("requalification", "GET", "/admin/requalification", "view"),
    Action("requalification cycle", "GET", "/admin/requalification/{cycle}", "view"),
    Action("requalification new", "GET", "/admin/requalification/new", "campaigns.edit"),
    Action(
        "requalification create",
        "POST",
        "/admin/requalification/new",
        "campaigns.edit",
        {
            "name": "Again",
            "purpose": "{purpose}",
            "subject": "Still in?",
            "body_text": "{{{{ confirm_url }}}}",
        },
    ),
    Action(
        "requalification approve",
        "POST",
        "/admin/requalification/{cycle}/approval",
        "campaigns.approve",
        {"note": "Legacy list, DPO file 7."},
    ),
    Action("breaches", "GET", "/admin/breaches", "breaches.read"),
    Action(
        "breach create",
        "POST",
        "/admin/breaches",
        "breaches.edit",
        {"title": "Lost laptop", "facts": "Stolen.", "aware_at": "2026-12-01T09:00"},
    ),
    Action("breach page", "GET", "/admin/breaches/{incident}", "breaches.read"),
    Action(
        "breach edit",
        "POST",
        "/admin/breaches/{incident}/edit",
        "breaches.edit",
        {"title": "Lost laptop", "facts": "Stolen, encrypted.", "aware_at": "2026-12-01T09:00"},
    ),
    Action(
        "breach notify",
        "POST",
        "/admin/breaches/{incident}/notification",
        "breaches.edit",
        {"notified_at": "2026-12-02T09:00", "reference": "CNIL-1"},
    ),
    Action("breach notification", "GET", "/admin/breaches/{incident}/notification.json", "breaches.read"),
    Action(
        "breach notice attach",
        "POST",
        "/admin/breaches/{incident}/notices",
        "breaches.edit",
        {"campaign_id": "{notice}"},
    ),
    Action(
        "breach notice approve",
        "POST",
        "/admin/breaches/{incident}/notices/{campaign}/approval",
        "campaigns.approve",
        {"note": "Art. 34."},
    ),
    Action("honouring", "GET", "/admin/honouring", "proofs.read"),
    Action("contact honouring", "GET", "/admin/contacts/{contact}/honouring.json", "proofs.read"),
    Action("consent proof", "GET", "/admin/contacts/{contact}/consent-proof.json", "proofs.read"),
    Action("staff", "GET", "/admin/staff", "users.manage"),
    Action(
        "user create",
        "POST",
        "/admin/staff/users",
        "users.manage",
        {"email": "new.user@exemple.org", "role": "dpo", "password": "a long enough password"},
    ),
    Action("user disable", "POST", "/admin/staff/users/{other_user}/active", "users.manage", {"active": "0"}),
    Action(
        "token create",
        "POST",
        "/admin/staff/tokens",
        "tokens.manage",
        {"name": "t"},
    ),
    Action("token revoke", "POST", "/admin/staff/tokens/{token}/revoke", "tokens.manage"),
    Action("register", "GET", "/admin/register", "records.read"),
    Action("register export", "GET", "/admin/register/export.csv", "records.read"),
    Action("processors", "GET", "/admin/processors", "records.read"),
    Action("processor form", "GET", "/admin/processors/{processor}", "records.edit"),
    Action(
        "processor edit",
        "POST",
        "/admin/processors/{processor}",
        "records.edit",
        {"name": "Hosting SAS", "role": "hosts the servers", "country": "FR", "transfer_mechanism": "eea"},
    ),
    Action("dpia form", "GET", "/admin/purposes/{purpose}/dpia", "records.edit"),
    Action("dpia edit", "POST", "/admin/purposes/{purpose}/dpia", "records.edit", {"reasons": "profiling"}),
    Action("campaign duplicate", "POST", "/admin/campaigns/{campaign}/duplicate", "campaigns.edit"),
    Action("campaign checks", "POST", "/admin/campaigns/{campaign}/checks", "campaigns.edit"),
    Action("templates", "GET", "/admin/templates", "view"),
    Action("template new", "GET", "/admin/templates/new", "campaigns.edit"),
    Action(
        "template create",
        "POST",
        "/admin/templates/new",
        "campaigns.edit",
        {"name": "Mine", "layout_html": "<div>{{{{ content }}}}</div>", "layout_text": "{{{{ content }}}}"},
    ),
    Action("template page", "GET", "/admin/templates/{template}", "campaigns.edit"),
    Action(
        "template edit",
        "POST",
        "/admin/templates/{template}",
        "campaigns.edit",
        {"name": "Mine", "layout_html": "<p>{{{{ content }}}}</p>", "layout_text": "{{{{ content }}}}"},
    ),
    Action("template message", "GET", "/admin/templates/{template}/message.html", "view"),
    Action("template duplicate", "POST", "/admin/templates/{template}/duplicate", "campaigns.edit"),
    Action("brand", "POST", "/admin/brand", "organisation.edit", {"brand_color": "#1f4e79"}),
    Action("sequences", "GET", "/admin/sequences", "view"),
    Action("sequence new", "GET", "/admin/sequences/new", "sequences.edit"),
    Action(
        "sequence create",
        "POST",
        "/admin/sequences/new",
        "sequences.edit",
        {
            "name": "Welcome",
            "purpose": "{purpose}",
            "trigger": "consent",
            "steps-0-channel": "email",
            "steps-0-delay_value": "0",
            "steps-0-delay_unit": "hours",
            "steps-0-subject": "Hello",
            "steps-0-body_source": "Hello.",
        },
    ),
    Action("sequence page", "GET", "/admin/sequences/{sequence}", "view"),
    Action("sequence step", "GET", "/admin/sequences/{sequence}/steps/1", "view"),
    Action("sequence activate", "POST", "/admin/sequences/{sequence}/activate", "sequences.activate"),
    Action("sequence pause", "POST", "/admin/sequences/{sequence}/pause", "sequences.activate"),
    Action("image upload", "POST", "/admin/images", "campaigns.edit", {"alt_text": "A logo"}),
    Action("webhooks", "GET", "/admin/webhooks", "webhooks.manage"),
    Action(
        "webhook add",
        "POST",
        "/admin/webhooks",
        "webhooks.manage",
        {"url": "https://93.184.216.34/hooks", "events": "consent.granted"},
    ),
    Action("webhook page", "GET", "/admin/webhooks/{endpoint}", "webhooks.manage"),
    Action(
        "webhook change", "POST", "/admin/webhooks/{endpoint}/change", "webhooks.manage", {"enabled": "0"}
    ),
    Action(
        "webhook replay", "POST", "/admin/webhooks/{endpoint}/deliveries/{delivery}/replay", "webhooks.manage"
    ),
    Action("webhook delete", "POST", "/admin/webhooks/{endpoint}/delete", "webhooks.manage"),
]


@pytest.fixture
def world(db_session: Session, staff: dict[str, Any], redis_conn: Any, runtime: Runtime) -> dict[str, str]:
    """One of everything the actions name."""
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    unused = WordingFactory(purpose=purpose, version=2, purpose_id=purpose.id)
    contact = ContactFactory()
    lst = ListFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    segment = Segment(name="Seg", rules={"groups": [{"tags": ["vip"]}]})
    db_session.add(segment)
    db_session.flush()
    other = User(email="other@exemple.org", role="marketer", password_hash="not-used")
    db_session.add(other)
    db_session.flush()
    token = users.issue_token(db_session, other)
    # A requalification cycle of another purpose, written by someone else (so any allowed role may approve it).
    legacy = PurposeFactory(slug="legacy")
    WordingFactory(purpose=legacy)
    draft = requalify.Draft("Again", legacy.slug, "Still in?", "{{ confirm_url }}")
    cycle = requalify.create(db_session, runtime.settings, draft, f"user:{other.id}")
    incident = breaches.create(
        db_session,
        breaches.IncidentInput.parse({"title": "T", "facts": "F", "aware_at": "2026-12-01T08:00:00+00:00"}),
        "user:1",
    )
    notice = CampaignFactory(purpose_id=purpose.id, kind="legal_notice", body_text="Your data was exposed.")
    template = Template(name="Mine", layout_html="<div>{{ content }}</div>", layout_text="{{ content }}")
    db_session.add(template)
    endpoint, delivery = webhook_with_delivery(db_session)
    sequence = welcome_sequence(db_session, "news")
    db_session.commit()
    return {
        "endpoint": str(endpoint.id),
        "delivery": str(delivery.id),
        "sequence": str(sequence.id),
        "purpose": purpose.slug,
        "wording": str(unused.id),
        "contact": contact.public_id,
        "list": str(lst.id),
        "campaign": str(campaign.id),
        "segment": str(segment.id),
        "other_user": str(other.id),
        "token": str(token.record.id),
        "cycle": str(cycle.id),
        "incident": str(incident.id),
        "notice": str(notice.id),
        "processor": "hosting",
        "template": str(template.id),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_permission_matrix(
    role: str, action: Action, world: dict[str, str], client_as: Callable[[str], FlaskClient]
) -> None:
    client = client_as(role)
    url = action.url.format(**world)
    if action.method == "GET":
        response = client.get(url)
    else:
        data = {k: v.format(**world) for k, v in (action.data or {}).items()}
        response = post(client, url, data, token_page="/admin/")
    allowed = role in PERMISSIONS[action.permission]
    if allowed:
        assert response.status_code != 403, response.get_data(as_text=True)[:500]
        assert response.status_code < 500
    else:
        assert response.status_code == 403


def test_every_staff_route_is_in_the_matrix(app: Flask) -> None:
    covered = {a.url.split("?")[0] for a in ACTIONS}
    placeholders = {
        "<id:campaign_id>": "{campaign}",
        "<key:public_id>": "{contact}",
        "<id:list_id>": "{list}",
        "<id:segment_id>": "{segment}",
        "<key:slug>": "{purpose}",
        "<id:wording_id>": "{wording}",
        "<id:user_id>": "{other_user}",
        "<id:token_id>": "{token}",
        "<id:cycle_id>": "{cycle}",
        "<id:incident_id>": "{incident}",
        "<fmt>": "csv",
        "<key:key>": "{processor}",
        "<id:template_id>": "{template}",
        "<id:endpoint_id>": "{endpoint}",
        "<id:delivery_id>": "{delivery}",
        "<id:sequence_id>": "{sequence}",
        "<id:step>": "1",
    }
    public = {
        "/admin/signin",
        "/admin/signout",
        "/admin/setup",
        "/admin/static/<path:filename>",
        "/admin/imports",
    }
    missing = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if not path.startswith("/admin") or path in public or path.startswith("/admin/imports"):
            continue
        for raw, placeholder in placeholders.items():
            path = path.replace(raw, placeholder)
        # Exports offered as CSV or JSON are covered by either.
        if path not in covered and path.replace(".csv", ".json") not in covered:
            missing.append(rule.rule)
    assert missing == []


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient, world: dict[str, str]) -> None:
    for action in ACTIONS:
        url = action.url.format(**world)
        response = client.get(url) if action.method == "GET" else client.post(url)
        # A POST without a session fails its CSRF check first or is redirected: never served.
        assert response.status_code in (302, 400), (action.name, response.status_code)
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/admin/signin")
