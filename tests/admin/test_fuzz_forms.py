"""Fuzz every staff form: each POST route of the admin url_map, signed in as an admin with a CSRF token.

Each route gets a valid body (so that examples reach the service, not only the form's first check) in which
hypothesis replaces fields with hostile values (tests/fuzz_values.py). Whatever the answer, it is never a
5xx, and a refusal (4xx) leaves every table as it was.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import BreachIncident, Segment, Template
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.services.campaigns import requalify
from sender.web.admin.forms import Form
from tests.admin.conftest import csrf_token
from tests.admin.webhook_world import webhook_with_delivery, welcome_sequence
from tests.db_snapshot import RefusalsChangeNothing
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.fuzz_values import HOSTILE_FORM_TEXT, bounded, form_body, overrides

EXAMPLES_PER_ROUTE = 6
# Routes whose refusal writes on purpose (a failed sign-in counts), or that end the fuzzing session.
NOT_UNCHANGED = {"admin.signin", "admin.setup"}
SKIPPED = {"admin.signout"}

CAMPAIGN = {
    "name": "Spring",
    "channel": "email",
    "purpose": "news",
    "kind": "marketing",
    "subject": "Hello {{ contact.first_name }}",
    "body_text": "Hello",
    "body_format": "markdown",
    "body_source": "# Hello {{ contact.first_name | default('ami') }}",
}
CONSENT = {
    "purpose": "news",
    "channel": "email",
    "action": "grant",
    "mechanism": "checkbox",
    "wording_version": "1",
}
# A valid body per endpoint; the others are fuzzed from nothing.
VALID: dict[str, dict[str, Any]] = {
    "admin.signin": {"email": "admin@exemple.org", "password": "wrong password"},
    "admin.organisation": {
        "legal_name": "Exemple SAS",
        "postal_address": "1 rue de la Paix, Paris",
        "contact_email": "contact@exemple.test",
        "dpo_contact": "dpo@exemple.test",
        "sender_address": "news@exemple.test",
        "default_locale": "fr",
        "timezone": "Europe/Paris",
    },
    "admin.organisation_dkim": {"selector": "s2027", "domain": "exemple.test", "private_key": ""},
    "admin.contact_new": {"email": "new@example.org", "first_name": "New", "tags": "vip"},
    "admin.contact_consent": CONSENT,
    "admin.contact_tags": {"tags": "vip, spring"},
    "admin.contact_erase": {},
    "admin.list_create": {"name": "Fuzzed", "description": "D"},
    "admin.list_members": {"emails": "camille@example.org"},
    "admin.segment_new": {"name": "Fuzzed", "tags": "vip", "consent_channel": "email", "consent_state": "granted"},
    "admin.segment": {"name": "Segment", "consent_channel": "email", "consent_state": "granted"},
    "admin.purposes": {"slug": "fuzzed", "name": "F", "description": "D", "legal_basis": "consent", "retention_days": "30"},
    "admin.wording_add": {"text": "Yes, please."},
    "admin.wording_change": {"text": "Yes, please."},
    "admin.campaign_new": CAMPAIGN,
    "admin.campaign_edit": CAMPAIGN,
    "admin.campaign_live_preview": CAMPAIGN,
    "admin.campaign_sms_segments": {"kind": "marketing", "body_text": "Hello"},
    "admin.campaign_test": {"address": "test@example.org"},
    "admin.campaign_schedule": {"when": "2030-06-01T09:00"},
    "admin.requalification_new": {"name": "R", "purpose": "news", "subject": "S", "body_text": "B"},
    "admin.requalification_approve": {"note": "DPO file 12"},
    "admin.sequence_new": {"name": "W", "purpose": "news", "trigger": "consent", "steps-0-channel": "email", "steps-0-delay_value": "1", "steps-0-delay_unit": "days", "steps-0-subject": "Hi", "steps-0-body_source": "Hello."},
    "admin.staff_user_create": {"email": "new-user@example.org", "role": "dpo", "password": "correct horse battery"},
    "admin.staff_user_active": {"active": "1"},
    "admin.staff_token_create": {"name": "fuzz"},
    "admin.import_create": {"source": "fair", "legal_basis": "consent"},
    "admin.template_new": {"name": "Mine", "layout_html": "<div>{{ content }}</div>", "layout_text": "{{ content }}"},
    "admin.template_edit": {"name": "Mine", "layout_html": "<p>{{ content }}</p>", "layout_text": "{{ content }}"},
    "admin.brand_save": {"brand_color": "#1f4e79"},
    "admin.image_upload": {"alt_text": "A logo"},
    "admin.webhooks": {"url": "https://93.184.216.34/hooks", "events": "consent.granted"},
    "admin.webhook_change": {"enabled": "1"},
}  # fmt: skip
# Field names no form class declares: the ones views read themselves.
RAW_FIELDS = [
    "tags", "text", "delete", "remove", "emails", "active", "lift", "confirm", "alt_text", "next", "enabled"
]  # fmt: skip


def _field_names() -> list[str]:
    """Every field of every staff form, and the fields views read from the request themselves."""
    names: set[str] = set(RAW_FIELDS)
    pending: list[type] = [Form]
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        names.update(
            name
            for name in vars(form)
            if not name.startswith("_") and hasattr(vars(form)[name], "field_class")
        )
    return sorted(names)


@pytest.fixture
def world(db_session: Session, runtime: Runtime, staff: dict[str, Any]) -> dict[str, Any]:
    """One record of each kind a staff URL names."""
    purpose = PurposeFactory(slug="news")
    wording = WordingFactory(purpose=purpose)
    contact = ContactFactory(email="camille@example.org", is_legacy=True)
    lst = ListFactory()
    segment = Segment(name="Segment", description="", rules={"groups": [{"tags": ["vip"]}]})
    db_session.add(segment)
    campaign = CampaignFactory(purpose_id=purpose.id, status="draft")
    draft = requalify.Draft(
        "Ask", "news", "Votre accord ?", "{{ contact.first_name }}", deadline=utcnow() + timedelta(days=30)
    )
    cycle = requalify.create(db_session, runtime.settings, draft, "user:1", now=utcnow())
    token = users.issue_token(db_session, staff["dpo"]).record
    incident = BreachIncident(
        title="Stolen laptop", facts="A laptop was stolen.", aware_at=utcnow(), recorded_by="user:1"
    )
    db_session.add(incident)
    template = Template(name="Mine", layout_html="<div>{{ content }}</div>", layout_text="{{ content }}")
    db_session.add(template)
    endpoint, delivery = webhook_with_delivery(db_session)
    sequence = welcome_sequence(db_session, "news")
    db_session.commit()
    return {
        "endpoint_id": endpoint.id,
        "delivery_id": delivery.id,
        "sequence_id": sequence.id,
        "public_id": contact.public_id,
        "slug": purpose.slug,
        "list_id": lst.id,
        "segment_id": segment.id,
        "wording_id": wording.id,
        "campaign_id": campaign.id,
        "cycle_id": cycle.id,
        "user_id": staff["dpo"].id,
        "token_id": token.id,
        "batch_id": 1,
        "admin_id": staff["admin"].id,
        "incident_id": incident.id,
        "key": "email",
        "template_id": template.id,
    }  # fmt: skip


def _post_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    rules = [
        r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.") and "POST" in (r.methods or ())
    ]
    return sorted((r.endpoint, r.rule, sorted(r.arguments)) for r in rules if r.endpoint not in SKIPPED)


def _path(rule: str, arguments: list[str], values: dict[str, Any]) -> str:
    path = rule
    for name in arguments:
        value = quote(str(values[name]), safe="")
        path = path.replace(f"<id:{name}>", value).replace(f"<key:{name}>", value)
    return path


class Route:
    """One staff POST route: its endpoint, rule, path variables and valid body."""

    def __init__(self, endpoint: str, rule: str, arguments: list[str], world: dict[str, Any]) -> None:
        self.endpoint, self.rule, self.arguments = endpoint, rule, arguments
        self.base = {**VALID.get(endpoint, {})}
        if endpoint == "admin.staff_token_create":
            self.base["user_id"] = str(world["admin_id"])
        self.world = world

    def url(self, values: dict[str, Any]) -> str:
        """The rule with each variable replaced (an empty one leaves the rule as it is: a 404)."""
        path = self.rule
        for name in self.arguments:
            if values[name] == "":
                return self.rule
            value = quote(str(values[name]), safe="")
            path = re.sub(rf"<(?:\w+:)?{name}>", value, path)  # quoted: no backslash to escape
        return path

    def fuzz(self, client: FlaskClient, guard: RefusalsChangeNothing, token: str, names: list[str]) -> None:
        """Post the route's examples; never a 5xx, and a refusal leaves every table as it was."""
        values = st.fixed_dictionaries(
            {name: st.one_of(st.just(self.world[name]), HOSTILE_FORM_TEXT) for name in self.arguments}
        )

        @bounded(EXAMPLES_PER_ROUTE)
        @given(changes=overrides(sorted({*self.base, *names})), values=values)
        def check(changes: dict[str, Any], values: dict[str, Any]) -> None:
            guard.before()
            response = client.post(
                self.url(values),
                data=form_body({**self.base, **changes, "csrf_token": token}),
                content_type="application/x-www-form-urlencoded",
            )
            assert response.status_code < 500, (self.endpoint, changes, values)
            # A refused sign-in counts on purpose: the tables are read afresh after it.
            guard.after(
                0 if self.endpoint in NOT_UNCHANGED else response.status_code, (self.endpoint, changes)
            )

        check()


def test_no_staff_form_answers_5xx_and_a_refusal_changes_nothing(
    app: Flask, client_as: Any, db_session: Session, world: dict[str, Any]
) -> None:
    client: FlaskClient = client_as("admin")
    token = csrf_token(client, "/admin/lists")
    names = _field_names()
    guard = RefusalsChangeNothing(db_session)
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        and "POST" in (rule.methods or ())
        and rule.endpoint not in SKIPPED
    ]
    assert len(rules) >= 30, rules
    for rule in sorted(rules, key=lambda r: r.endpoint):
        Route(rule.endpoint, rule.rule, sorted(rule.arguments), world).fuzz(client, guard, token, names)
