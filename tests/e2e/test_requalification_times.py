"""The requalification email states its deadline in the organisation's zone, as a date a person reads."""

from __future__ import annotations

import pytest

from sender.models import OrganisationSettings
from tests.e2e import requalify_flow
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

pytestmark = pytest.mark.e2e


def test_the_deadline_is_in_the_organisation_zone_and_the_reader_language(stack) -> None:  # type: ignore[no-untyped-def]
    session = stack.session
    session.add(OrganisationSettings(id=1, timezone="America/New_York"))
    purpose = PurposeFactory(slug="newsletter", consent_validity_days=None)
    WordingFactory(purpose=purpose)
    french = ContactFactory(is_legacy=True, locale="fr")
    english = ContactFactory(is_legacy=True, locale="en")
    requalify_flow.ask(stack, "Votre accord", "Bonjour,\nrépondez avant le {{ deadline }}.\n")

    texts = {m.rcpt_tos[0]: m.message().get_body(("plain",)).get_content() for m in stack.mail.messages}
    assert set(texts) == {french.email, english.email}
    # 15:00 UTC is 10:00 in New York in January; the system block speaks each reader's language.
    assert "avant le 15 janvier 2027, 10:00 (UTC-05:00)" in texts[french.email]
    assert "January 15, 2027, 10:00 (UTC-05:00)" in texts[english.email]
    assert "UTC\n" not in texts[french.email] and "15:00" not in texts[french.email]
