"""Lists, segments (also in planning), purposes and wordings, organisation settings, users and tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ApiToken, ConsentWording, ContactTag, ListMember, Purpose, Segment, User
from sender.services.accounts import organisation
from sender.services.audience import segments
from sender.services.campaigns import lifecycle
from sender.services.consent import ledger
from tests.admin.conftest import post
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]


def test_create_a_list_and_add_members_by_email(client_as: ClientAs, db_session: Session) -> None:
    ContactFactory(email="a@example.org")
    client = client_as("marketer")
    created = post(client, "/admin/lists", {"name": "Customers"})
    assert created.status_code == 302
    page = created.headers["Location"]
    added = post(
        client,
        f"{page}/members",
        {"emails": "A@example.org\nnobody@example.org\nnot-an-address"},
        token_page=page,
    )
    body = client.get(added.headers["Location"]).get_data(as_text=True)
    assert "1 added." in body
    # Each line that names nobody says why, with its line number.
    assert "line 2 (nobody@example.org): no contact has this address" in body
    assert "line 3 (not-an-address): not a valid email address" not in body  # no @: read as a phone number
    assert "line 3 (not-an-address): not a phone number: " in body
    assert "a@example.org" in body
    assert len(db_session.scalars(select(ListMember)).all()) == 1
    duplicate = post(client, "/admin/lists", {"name": "Customers"})
    assert duplicate.status_code == 422
    assert "already exists" in duplicate.get_data(as_text=True)


def test_segment_filters_and_counts(client_as: ClientAs, db_session: Session) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    vip_fr = ContactFactory(country="FR")
    vip_de = ContactFactory(country="DE")
    ContactFactory(country="FR")
    for contact in (vip_fr, vip_de):
        db_session.add(ContactTag(contact_id=contact.id, tag="vip"))
    grant(db_session, vip_fr, purpose)
    db_session.commit()
    client = client_as("marketer")
    data = {
        "name": "VIP in France",
        "groups-0-tags": "VIP",
        "groups-0-country": "fr",
        "groups-0-consent_purpose": "news",
        "groups-0-consent_channel": "email",
        "groups-0-consent_state": "granted",
    }
    response = post(client, "/admin/segments/new", data, token_page="/admin/lists")
    assert response.status_code == 302
    segment = db_session.scalars(select(Segment)).one()
    assert segment.rules == {
        "groups": [
            {
                "tags": ["vip"],
                "country": "FR",
                "consent": {"purpose": "news", "channel": "email", "state": "granted"},
            }
        ]
    }
    assert "1 contacts match right now" in client.get(response.headers["Location"]).get_data(as_text=True)
    bad = post(
        client,
        "/admin/segments/new",
        {"name": "Bad", "groups-0-created_after": "yesterday"},
        token_page="/admin/lists",
    )
    assert bad.status_code == 400
    assert 'id="groups-0-created_after-error"' in bad.get_data(as_text=True)


def test_a_campaign_reaches_segment_members_through_planning(db_session: Session) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    on_list, in_segment, both, neither = (ContactFactory() for _ in range(4))
    lst = ListFactory()
    for contact in (on_list, both):
        db_session.add(ListMember(list_id=lst.id, contact_id=contact.id))
    for contact in (in_segment, both):
        db_session.add(ContactTag(contact_id=contact.id, tag="vip"))
    for contact in (on_list, in_segment, both, neither):
        grant(db_session, contact, purpose)
    segment = Segment(name="VIP", rules={"groups": [{"tags": ["vip"]}]})
    db_session.add(segment)
    db_session.flush()
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[lst])
    segments.set_for_campaign(db_session, campaign.id, [segment.id])
    assert lifecycle.preview(db_session, campaign).queued == 3
    # Evaluated at launch: a contact tagged later is in.
    db_session.add(ContactTag(contact_id=neither.id, tag="vip"))
    db_session.flush()
    assert lifecycle.preview(db_session, campaign).queued == 4


def test_a_segment_a_campaign_uses_cannot_be_deleted(client_as: ClientAs, db_session: Session) -> None:
    segment = Segment(name="Used", rules={"groups": [{}]})
    db_session.add(segment)
    db_session.flush()
    campaign = CampaignFactory(purpose_id=PurposeFactory().id)
    segments.set_for_campaign(db_session, campaign.id, [segment.id])
    db_session.commit()
    client = client_as("admin")
    response = post(client, f"/admin/segments/{segment.id}/delete")
    assert "a campaign targets this segment" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert db_session.get(Segment, segment.id) is not None


def test_purposes_and_versioned_wordings(client_as: ClientAs, db_session: Session) -> None:
    client = client_as("dpo")
    data = {
        "slug": "events",
        "name": "Event invitations",
        "description": "Invitations to our events.",
        "legal_basis": "consent",
        "retention_days": "365",
        "consent_validity_days": "730",
    }
    created = post(client, "/admin/purposes", data)
    assert created.status_code == 302
    page = created.headers["Location"]
    assert post(client, f"{page}/wordings", {"text": "Yes, invite me."}, token_page=page).status_code == 302
    assert (
        post(client, f"{page}/wordings", {"text": "Yes, invite me (v2)."}, token_page=page).status_code == 302
    )
    v1, v2 = db_session.scalars(select(ConsentWording).order_by(ConsentWording.version)).all()
    # An unused version may be corrected.
    post(client, f"/admin/wordings/{v1.id}", {"text": "Yes, invite me to events."}, token_page=page)
    db_session.expire_all()
    assert db_session.get(ConsentWording, v1.id).text == "Yes, invite me to events."
    # Once a consent names it, it is evidence: neither edited nor deleted.
    events = db_session.scalars(select(Purpose).where(Purpose.slug == "events")).one()
    ledger.record(
        db_session,
        ContactFactory(),
        events,
        channel="email",
        action="grant",
        source="form",
        mechanism="checkbox",
        actor="test",
        wording_version=2,
    )
    db_session.commit()
    refused = post(client, f"/admin/wordings/{v2.id}", {"text": "changed"}, token_page=page)
    assert "in use by recorded consents" in client.get(refused.headers["Location"]).get_data(as_text=True)
    post(client, f"/admin/wordings/{v2.id}", {"delete": "1"}, token_page=page)
    db_session.expire_all()
    assert db_session.get(ConsentWording, v2.id).text == "Yes, invite me (v2)."
    assert "in use" in client.get(page).get_data(as_text=True)


def test_organisation_settings_apply_without_restart_and_env_wins(
    client_as: ClientAs, db_session: Session, settings: Any, runtime: Any
) -> None:
    client = client_as("admin")
    data = {
        "legal_name": "Stored SAS",
        "postal_address": "2 rue Stockée, Lyon",
        "contact_email": "hello@stored.org",
        "dpo_contact": "dpo@stored.org",
        "sender_address": "news@stored.org",
        "default_locale": "fr",
        "timezone": "Europe/Paris",
    }
    assert post(client, "/admin/organisation", data).status_code == 302
    # The test environment sets ORG_NAME and friends: they win over the stored values.
    effective = organisation.effective(db_session, settings)
    assert effective.legal_name == "Exemple SAS"
    assert "legal_name" in effective.from_env
    assert effective.default_locale == "fr"
    # Without the variables, the stored values are used by the renderer and the launch check.
    bare = settings.with_overrides(
        org_name="", org_address="", org_contact_email="", dpo_contact="", email_from=""
    )
    applied = organisation.effective_settings(db_session, bare)
    assert (applied.org_name, applied.org_address, applied.email_from) == (
        "Stored SAS",
        "2 rue Stockée, Lyon",
        "news@stored.org",
    )
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "ORG_NAME" in page
    assert 'aria-describedby="legal_name-hint" id="legal_name" name="legal_name" readonly' in page
    # French once the organisation's locale is fr.
    assert "Ce que la loi exige dans chaque message" in page


def test_organisation_form_errors_are_next_to_fields(client_as: ClientAs) -> None:
    response = post(
        client_as("admin"),
        "/admin/organisation",
        {"legal_name": "", "default_locale": "en", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="postal_address-error"' in body and 'id="timezone-error"' in body


def test_users_and_tokens(client_as: ClientAs, db_session: Session, staff: dict[str, Any]) -> None:
    client = client_as("admin")
    created = post(
        client,
        "/admin/staff/users",
        {"email": "new@exemple.org", "role": "dpo", "password": "long enough password"},
    )
    assert created.status_code == 302
    new = db_session.scalars(select(User).where(User.email == "new@exemple.org")).one()
    assert new.role == "dpo"
    # A token is the issuer's own (tests/admin/test_tokens.py).
    issued = post(client, "/admin/staff/tokens", {"name": "crm"}, token_page="/admin/staff")
    body = issued.get_data(as_text=True)
    value = body.split('<code id="issued-token">', 1)[1].split("<", 1)[0]
    assert value.startswith("snd_")
    assert value not in client.get("/admin/staff").get_data(as_text=True)
    assert client.get("/api/v1/purposes", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    token = db_session.scalars(select(ApiToken).where(ApiToken.user_id == staff["admin"].id)).one()
    post(client, f"/admin/staff/tokens/{token.id}/revoke", token_page="/admin/staff")
    assert client.get("/api/v1/purposes", headers={"Authorization": f"Bearer {value}"}).status_code == 401
    post(client, f"/admin/staff/users/{staff['admin'].id}/active", {"active": "0"}, token_page="/admin/staff")
    db_session.refresh(staff["admin"])
    assert staff["admin"].is_active
