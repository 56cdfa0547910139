"""The requalification email states its deadline in the organisation's zone, as a date a person reads."""

from __future__ import annotations

import subprocess

import pytest

from sender.models import OrganisationSettings
from sender.services.accounts import users
from tests.e2e.conftest import ROOT
from tests.e2e.test_requalification import SENDER
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e


def test_the_deadline_is_in_the_organisation_zone_and_the_reader_language(stack) -> None:  # type: ignore[no-untyped-def]
    session = stack.session
    session.add(OrganisationSettings(id=1, timezone="America/New_York"))
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    french = ContactFactory(is_legacy=True, locale="fr")
    english = ContactFactory(is_legacy=True, locale="en")
    dpo = users.create_user(session, "dpo@exemple.org", "dpo", "correct horse battery")
    dpo_headers = {"Authorization": f"Bearer {users.issue_token(session, dpo).value}"}
    session.commit()
    created = stack.api(
        "POST",
        "/requalifications",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "subject": "Votre accord",
            "body_text": "Bonjour,\nrépondez avant le {{ deadline }}.\n",
            "deadline": "2027-01-15T15:00:00Z",
        },
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["campaign_id"]
    approved = stack.client.post(
        f"/api/v1/campaigns/{cid}/approval", json={"note": "ok"}, headers=dpo_headers
    )
    assert approved.status_code == 200, approved.get_json()
    assert stack.api("POST", f"/campaigns/{cid}/send").status_code == 202

    cron = subprocess.run(
        [SENDER, "requalify", "run"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=300
    )
    assert cron.returncode == 0, cron.stderr
    stack.worker()

    texts = {m.rcpt_tos[0]: m.message().get_body(("plain",)).get_content() for m in stack.mail.messages}
    assert set(texts) == {french.email, english.email}
    # 15:00 UTC is 10:00 in New York in January; the system block speaks each reader's language.
    assert "avant le 15 janvier 2027, 10:00 (UTC-05:00)" in texts[french.email]
    assert "January 15, 2027, 10:00 (UTC-05:00)" in texts[english.email]
    assert "UTC\n" not in texts[french.email] and "15:00" not in texts[french.email]
