"""Exports state times in the organisation's zone with its offset, as the pages show them (issue 16)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.models import Delivery, OrganisationSettings
from tests.admin.conftest import post
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory

ClientAs = Callable[[str], FlaskClient]


def _zone(db_session: Session, zone: str) -> None:
    row = db_session.get(OrganisationSettings, 1) or OrganisationSettings(id=1)
    row.timezone = zone
    db_session.add(row)
    db_session.commit()


def test_the_deliveries_export_states_sent_at_in_the_organisation_zone(
    client_as: ClientAs, db_session: Session
) -> None:
    _zone(db_session, "America/New_York")
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, status="sent")
    db_session.add_all(
        [
            Delivery(
                campaign_id=campaign.id,
                contact_id=ContactFactory().id,
                status="sent",
                sent_at=datetime(2026, 7, 1, 12, 30, 5),
            ),
            Delivery(
                campaign_id=campaign.id,
                contact_id=ContactFactory().id,
                status="sent",
                sent_at=datetime(2026, 12, 1, 12, 30, 5),
            ),
        ]
    )
    db_session.commit()

    body = client_as("marketer").get(f"/admin/campaigns/{campaign.id}/deliveries.csv").get_data(as_text=True)

    rows = list(csv.DictReader(io.StringIO(body)))
    # Summer and winter time: each moment with the offset in force then.
    assert [r["sent_at"] for r in rows] == ["2026-07-01T08:30:05-04:00", "2026-12-01T07:30:05-05:00"]


def test_the_export_follows_the_zone_chosen_on_the_organisation_page(
    client_as: ClientAs, db_session: Session
) -> None:
    admin = client_as("admin")
    saved = post(
        admin,
        "/admin/organisation",
        {
            "legal_name": "Exemple SAS",
            "postal_address": "1 rue de la Paix, Paris",
            "contact_email": "contact@exemple.org",
            "dpo_contact": "dpo@exemple.org",
            "sender_address": "news@exemple.org",
            "default_locale": "fr",
            "timezone": "Asia/Kolkata",
        },
        token_page="/admin/organisation",
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, status="sent")
    db_session.add(
        Delivery(
            campaign_id=campaign.id,
            contact_id=ContactFactory().id,
            status="sent",
            sent_at=datetime(2026, 12, 1, 12, 0, 0),
        )
    )
    db_session.commit()

    body = admin.get(f"/admin/campaigns/{campaign.id}/deliveries.csv").get_data(as_text=True)

    assert next(csv.DictReader(io.StringIO(body)))["sent_at"] == "2026-12-01T17:30:00+05:30"
