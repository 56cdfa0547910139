"""Requalification pages: the funnel per cycle, the DPO's approval through the API's service, a new cycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import (
    AuditEvent,
    Campaign,
    OrganisationSettings,
    Purpose,
    Requalification,
    RequalificationAsk,
)
from sender.runtime import Runtime
from sender.services.campaigns import requalify
from tests.admin.conftest import csrf_token, post
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]
BODY = "Bonjour {{ contact.first_name }},\nsouhaitez-vous continuer à recevoir nos nouvelles ?\n{{ confirm_url }}"
# 17:00 UTC is 18:00 in Paris (the organisation's default time zone) in January.
DEADLINE = datetime(2099, 1, 15, 17, 0)


@pytest.fixture
def purpose(db_session: Session) -> Purpose:
    purpose = PurposeFactory(slug="newsletter", name="Newsletter")
    WordingFactory(purpose=purpose)
    return purpose


def make_cycle(session: Session, runtime: Runtime, purpose: Purpose, author: str) -> Campaign:
    """A draft cycle written through the service, as the API does."""
    draft = requalify.Draft("Re-permission 2026", purpose.slug, "Votre accord ?", BODY, deadline=DEADLINE)
    campaign = requalify.create(session, runtime.settings, draft, author)
    session.commit()
    return campaign


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def audited(session: Session, action: str) -> int:
    return (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0
    )


def approvals(session: Session) -> int:
    return audited(session, "requalification.approve")


def test_list_and_cycle_pages_show_the_funnel_and_the_local_deadline(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")
    statuses = ["asked"] * 2 + ["confirmed"] + ["declined"] * 3 + ["erased", "archived", "excluded"]
    for status in statuses:
        contact = ContactFactory()
        db_session.add(
            RequalificationAsk(
                campaign_id=campaign.id,
                contact_id=contact.id,
                purpose_id=purpose.id,
                status=status,
                asked_at=datetime(2026, 1, 1),
            )
        )
    db_session.commit()
    # asked, waiting, confirmed, declined, expired → erased, archived, excluded
    cells = "<td>9</td><td>2</td><td>1</td><td>3</td><td>1</td><td>1</td><td>1</td>"
    client = client_as("marketer")
    listing = client.get("/admin/requalification").get_data(as_text=True)
    assert cells in listing
    assert "2099-01-15 18:00 CET" in listing
    assert f'href="/admin/requalification/{campaign.id}"' in listing
    page = client.get(f"/admin/requalification/{campaign.id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert cells in body
    assert "2099-01-15 18:00 CET" in body
    assert "Not approved yet" in body
    # Only the dpo and admin roles get the form.
    assert "/approval" not in body
    # Starting it is on its campaign page, which the cycle's page links to.
    assert f'href="/admin/campaigns/{campaign.id}"' in body
    assert client.get(f"/admin/campaigns/{campaign.id}").status_code == 200
    # The navigation entry, marked current on the cycle's page.
    assert '<a href="/admin/requalification" aria-current="page">Requalification</a>' in body


def test_a_page_for_a_campaign_that_is_not_a_cycle_is_404(
    client_as: ClientAs, db_session: Session, purpose: Purpose
) -> None:
    campaign = CampaignFactory(purpose_id=purpose.id)
    assert client_as("dpo").get(f"/admin/requalification/{campaign.id}").status_code == 404
    assert client_as("dpo").get("/admin/requalification/4242").status_code == 404


def test_the_dpo_approves_and_the_approval_is_recorded(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose, staff: dict[str, Any]
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, f"user:{staff['marketer'].id}")
    client = client_as("dpo")
    page = client.get(f"/admin/requalification/{campaign.id}").get_data(as_text=True)
    assert f'action="/admin/requalification/{campaign.id}/approval"' in page
    response = post(
        client,
        f"/admin/requalification/{campaign.id}/approval",
        {"note": "Trade-show list of 2019, DPO file 42."},
        token_page=f"/admin/requalification/{campaign.id}",
    )
    assert response.status_code == 303
    db_session.expire_all()
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None and cycle.approved_at is not None
    assert (cycle.approved_by, cycle.approval_note) == (
        f"user:{staff['dpo'].id}",
        "Trade-show list of 2019, DPO file 42.",
    )
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "requalification.approve")).one()
    assert (event.actor, event.subject_id) == (f"user:{staff['dpo'].id}", str(campaign.id))
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Approval recorded" in shown
    assert "dpo@exemple.org" in shown and "Trade-show list of 2019, DPO file 42." in shown
    # Approved: the form is gone; a second approval (a stale page) is refused next to where the form was.
    assert f'action="/admin/requalification/{campaign.id}/approval"' not in shown
    again = post(
        client_as("admin"),
        f"/admin/requalification/{campaign.id}/approval",
        {"note": "Me too."},
        token_page="/admin/",
    )
    assert again.status_code == 409
    body = again.get_data(as_text=True)
    assert body.index("already approved by") > body.index('id="approval"')
    assert approvals(db_session) == 1


def test_a_marketer_may_not_approve(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")
    response = post(
        client_as("marketer"),
        f"/admin/requalification/{campaign.id}/approval",
        {"note": "ok"},
        token_page="/admin/",
    )
    assert response.status_code == 403
    assert approvals(db_session) == 0


def test_the_author_may_not_approve_their_own_cycle(
    client_as: ClientAs, db_session: Session, purpose: Purpose
) -> None:
    client = client_as("admin")
    created = post(
        client,
        "/admin/requalification/new",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "deadline": "2099-07-01T10:00",
            "subject": "Votre accord ?",
            "body_text": BODY,
        },
    )
    assert created.status_code == 303
    campaign = db_session.scalars(select(Campaign)).one()
    refused = post(
        client,
        f"/admin/requalification/{campaign.id}/approval",
        {"note": "My own list."},
        token_page=f"/admin/requalification/{campaign.id}",
    )
    assert refused.status_code == 403
    body = refused.get_data(as_text=True)
    # The service's refusal, shown in the approval section, with the typed note kept.
    message = "the campaign&#39;s author may not approve it"
    assert message in body
    assert body.count(message) == 1 and body.index(message) > body.index('id="approval"')
    assert "My own list." in body
    db_session.expire_all()
    cycle = db_session.get(Requalification, campaign.id)
    assert cycle is not None and cycle.approved_at is None
    assert approvals(db_session) == 0


def test_an_empty_note_is_shown_next_to_its_field(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")
    response = post(
        client_as("dpo"),
        f"/admin/requalification/{campaign.id}/approval",
        {"note": " "},
        token_page="/admin/",
    )
    assert response.status_code == 400
    assert 'id="note-error"' in response.get_data(as_text=True)
    assert approvals(db_session) == 0


def test_create_converts_the_local_deadline_to_utc(
    client_as: ClientAs, db_session: Session, purpose: Purpose, staff: dict[str, Any]
) -> None:
    client = client_as("marketer")
    assert "Time zone: Europe/Paris" in client.get("/admin/requalification/new").get_data(as_text=True)
    response = post(
        client,
        "/admin/requalification/new",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "deadline": "2099-07-01T10:00",
            "subject": "Votre accord ?",
            "body_text": BODY,
        },
    )
    assert response.status_code == 303
    campaign = db_session.scalars(select(Campaign)).one()
    assert (campaign.kind, campaign.status, campaign.created_by) == (
        "requalification",
        "draft",
        f"user:{staff['marketer'].id}",
    )
    cycle = db_session.get(Requalification, campaign.id)
    # 10:00 in Paris in July (CEST, UTC+2) is 08:00 UTC.
    assert cycle is not None and cycle.deadline == datetime(2099, 7, 1, 8, 0)
    assert response.headers["Location"] == f"/admin/requalification/{campaign.id}"


def test_a_past_deadline_and_promotion_are_shown_at_their_fields_and_nothing_is_written(
    client_as: ClientAs, db_session: Session, purpose: Purpose
) -> None:
    response = post(
        client_as("marketer"),
        "/admin/requalification/new",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "deadline": "2020-01-01T10:00",
            "subject": "Votre accord ?",
            "body_text": "Bonjour,\n-20 % sur toute la boutique !\n{{ confirm_url }}",
        },
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="deadline-error"' in body and "must be in the future" in body
    assert 'id="body_text-error"' in body and "line 2: promotional wording" in body
    assert count(db_session, Campaign) == 0
    assert count(db_session, Requalification) == 0
    assert audited(db_session, "requalification.create") == 0


def test_posts_without_the_csrf_token_are_refused(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")
    dpo = client_as("dpo")
    refused = dpo.post(f"/admin/requalification/{campaign.id}/approval", data={"note": "No token."})
    assert refused.status_code == 400
    forged = dpo.post(
        f"/admin/requalification/{campaign.id}/approval", data={"note": "Bad token.", "csrf_token": "forged"}
    )
    assert forged.status_code == 400
    marketer = client_as("marketer")
    csrf_token(marketer)
    data = {"name": "n", "purpose": "newsletter", "subject": "s", "body_text": BODY}
    assert marketer.post("/admin/requalification/new", data=data).status_code == 400
    assert approvals(db_session) == 0
    assert count(db_session, Campaign) == 1


def test_the_pages_are_in_french(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")
    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    db_session.commit()
    client = client_as("dpo")
    page = client.get(f"/admin/requalification/{campaign.id}").get_data(as_text=True)
    assert "Approuver" in page and "Entonnoir" in page
    assert "Nouveau cycle" in client_as("marketer").get("/admin/requalification").get_data(as_text=True)
