"""The requalification email's system block (the question, both links, the deadline) follows the language rule
of every system message: the contact's language, else the campaign's, else the organisation's."""

from __future__ import annotations

import subprocess

import pytest

from sender.models import OrganisationSettings
from sender.services.accounts import users
from tests.e2e.conftest import ROOT
from tests.e2e.test_requalification import SENDER
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e


def test_an_english_organisation_asks_its_legacy_contacts_in_english(stack) -> None:  # type: ignore[no-untyped-def]
    session = stack.session
    session.add(OrganisationSettings(id=1, default_locale="en", timezone="Europe/London"))
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    unknown = ContactFactory(is_legacy=True, locale=None)  # no language of their own: the organisation's
    french = ContactFactory(is_legacy=True, locale="fr")
    dpo = users.create_user(session, "dpo@example.org", "dpo", "correct horse battery")
    dpo_headers = {"Authorization": f"Bearer {users.issue_token(session, dpo).value}"}
    session.commit()
    created = stack.api(
        "POST",
        "/requalifications",
        {
            "name": "Re-permission",
            "purpose": "newsletter",
            "subject": "Your consent",
            "body_text": "Hello,\nplease answer by {{ deadline }}.\n",
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

    received = {m.rcpt_tos[0]: m.message() for m in stack.mail.messages}
    assert set(received) == {unknown.email, french.email}
    english_text = received[unknown.email].get_body(("plain",)).get_content()
    english_html = received[unknown.email].get_body(("html",))
    assert "We ask for your consent to: " in english_text
    assert "Yes, I agree:" in english_text and "No, thank you:" in english_text
    assert "Without an answer from you by January 15, 2027, 15:00" in english_text
    assert "your data will be erased." in english_text
    for french_word in ("Nous vous demandons", "Oui, je donne", "Sans réponse", "accord"):
        assert french_word not in english_text
    if english_html is not None:
        assert "Yes, I agree" in english_html.get_content() and "Oui" not in english_html.get_content()
    # A contact with a language of their own keeps it.
    french_text = received[french.email].get_body(("plain",)).get_content()
    assert "Nous vous demandons votre accord pour : " in french_text
    assert "Oui, je donne mon accord :" in french_text
