"""Per-row consent proof in imports (issue 16.3): a row without its own proof is legacy, never granted."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ConsentEvent, Contact, ImportBatch
from sender.services.campaigns import lifecycle
from sender.services.consent import gate
from tests.admin_imports.conftest import csrf_token
from tests.factories import CampaignFactory, ListFactory
from tests.import_helpers import csv_bytes, newsletter


def _upload(client: FlaskClient, content: bytes, **form: Any) -> str:
    data = {
        "csrf_token": csrf_token(client),
        "source": "salon-2026",
        "legal_basis": "consent",
        "purpose": "newsletter",
        "wording_version": "1",
        "collected_on": "2026-03-14",
        "mechanism": "checkbox",
        "channels": "email",
        **form,
    }
    response = client.post(
        "/admin/imports",
        data={**data, "file": (io.BytesIO(content), "salon.csv")},
        content_type="multipart/form-data",
    )
    location = response.headers.get("Location", "")
    assert response.status_code == 302 and re.fullmatch(r"/admin/imports/\d+", location), response.text
    return location


def _proof_counts(page: str) -> list[str]:
    row = page.split("<tr data-proof-counts>", 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td>(.*?)</td>", row)


def _contact(session: Session, email: str) -> Contact:
    found = session.scalar(select(Contact).where(Contact.email == email))
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        (
            "Email,First name,Consent date,Consent source,IP address,Form id",
            [
                "a@example.org,A,2026-03-01,stand 12,192.0.2.17,",
                "b@example.org,B,,,,",
                "c@example.org,C,2026-03-02 10:30,web form,,nl-footer",
                "d@example.org,D,2026-03-03,,,",  # a date with no source is no proof
                "e@example.org,E,,,,",
                "f@example.org,F,2026-03-04,stand 12,,",
            ],
        ),
        (
            "Courriel;Prénom;Date de consentement;Source du consentement;Adresse IP;Formulaire",
            [
                "a@example.org;A;01/03/2026;stand 12;192.0.2.17;",
                "b@example.org;B;;;;",
                "c@example.org;C;02/03/2026 10:30;web form;;nl-footer",
                "d@example.org;D;03/03/2026;;;",
                "e@example.org;E;;;;",
                "f@example.org;F;04/03/2026;stand 12;;",
            ],
        ),
    ],
)
def test_rows_without_their_own_proof_are_legacy_and_no_campaign_reaches_them(
    client_as: Callable[[str], FlaskClient], db_session: Session, header: str, rows: list[str]
) -> None:
    purpose = newsletter()
    salon = ListFactory(name="Salon")
    db_session.commit()
    client = client_as("marketer")

    location = _upload(client, csv_bytes(header, *rows), list=str(salon.id))

    # The dry run maps the proof columns and says, before anyone commits, where each row's consent comes from.
    page = client.get(location).get_data(as_text=True)
    for target in ("consent_date", "consent_source", "consent_ip", "consent_form_id"):
        assert f"→ {target}" in page
    assert "(ignored)" not in page
    assert _proof_counts(page) == ["3", "0", "3"]
    assert "no consent proof of its own (consent date and source)" in page
    assert db_session.scalar(select(Contact).where(Contact.email == "a@example.org")) is None

    token = csrf_token(client, location)
    assert client.post(f"{location}/commit", data={"csrf_token": token}).status_code == 302
    db_session.expire_all()
    batch = db_session.get(ImportBatch, int(location.rsplit("/", 1)[1]))
    assert batch is not None and batch.status == "committed" and batch.consents_recorded == 3

    # Each grant carries its row's own date, source and evidence, not the batch's claim.
    a = _contact(db_session, "a@example.org")
    event = db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == a.id)).one()
    assert (event.occurred_at, event.collection_point) == (datetime(2026, 3, 1), "stand 12")
    assert event.evidence == {"import_batch": str(batch.id), "ip": "192.0.2.0"}
    c = _contact(db_session, "c@example.org")
    event = db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == c.id)).one()
    assert event.occurred_at == datetime(2026, 3, 2, 10, 30)
    assert event.evidence == {"import_batch": str(batch.id), "form_id": "nl-footer"}
    for email in ("b@example.org", "d@example.org", "e@example.org"):
        person = _contact(db_session, email)
        assert person.is_legacy
        assert (
            db_session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == person.id)).all() == []
        )
        assert gate.check(db_session, person.id, purpose.id, "email").reason == "no_consent"

    # Everyone joined the list; a campaign to it reaches only the rows that proved their consent.
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[salon])
    db_session.commit()
    planned = lifecycle.preview(db_session, campaign)
    assert (planned.queued, planned.skipped) == (3, {"no_consent": 3})


def test_a_row_naming_an_unknown_wording_version_is_legacy(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    newsletter()
    db_session.commit()
    client = client_as("marketer")
    content = csv_bytes(
        "email,consent date,consent source,wording version",
        "a@example.org,2026-03-01,stand,1",
        "b@example.org,2026-03-01,stand,7",
        "c@example.org,2099-03-01,stand,1",
    )

    page = client.get(_upload(client, content)).get_data(as_text=True)

    assert _proof_counts(page) == ["1", "0", "2"]
    assert "purpose &#39;newsletter&#39; has no wording version 7" in page
    assert "is in the future" in page


def test_without_proof_columns_every_row_relies_on_the_batch_claim(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    newsletter()
    db_session.commit()
    client = client_as("marketer")

    claimed = client.get(_upload(client, csv_bytes("email", "a@example.org", "b@example.org")))
    unknown = client.get(
        _upload(client, csv_bytes("email", "c@example.org"), legal_basis="unknown", purpose="")
    )

    assert _proof_counts(claimed.get_data(as_text=True)) == ["0", "2", "0"]
    assert _proof_counts(unknown.get_data(as_text=True)) == ["0", "0", "1"]
