"""The requalification email's system block (the question, both links, the deadline) follows the language rule
of every system message: the contact's language, else the campaign's, else the organisation's."""

from __future__ import annotations

import pytest

from sender.models import OrganisationSettings
from tests.e2e import requalify_flow
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e


def test_an_english_organisation_asks_its_legacy_contacts_in_english(stack) -> None:  # type: ignore[no-untyped-def]
    session = stack.session
    session.add(OrganisationSettings(id=1, default_locale="en", timezone="Europe/London"))
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    unknown = ContactFactory(is_legacy=True, locale=None)  # no language of their own: the organisation's
    french = ContactFactory(is_legacy=True, locale="fr")
    requalify_flow.ask(stack, "Your consent", "Hello,\nplease answer by {{ deadline }}.\n")

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
