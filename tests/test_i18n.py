"""French and English: the catalogue, the language of pages and of the message footer, and its order."""

from __future__ import annotations

import io

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.i18n import pick_locale
from sender.paths import resource_dir
from sender.runtime import Runtime
from sender.services.consent.links import portal_token
from sender.services.messages.rendering import EmailRenderer
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory

CATALOGUE = resource_dir("translations") / "fr" / "LC_MESSAGES"
# Labels that French writes as English does.
SAME_IN_FRENCH = {
    "SMS",
    "HTML",
    "Markdown",
    "API",
    "Import",
    "Marketing",
    "Messages",
    "Requalification",
    "Rectification",
    "Objection",
    "e-mail",
}


def test_every_text_is_translated_and_the_compiled_catalogue_is_current() -> None:
    template = read_po((resource_dir("translations") / "messages.pot").open("rb"))
    french = read_po((CATALOGUE / "messages.po").open("rb"))
    missing = [m.id for m in template if m.id and not (french.get(m.id) and french[m.id].string)]
    assert missing == []
    compiled = io.BytesIO()
    write_mo(compiled, french)
    shipped = read_mo((CATALOGUE / "messages.mo").open("rb"))
    assert {m.id: m.string for m in shipped if m.id} == {m.id: m.string for m in french if m.id}


@pytest.mark.parametrize(
    ("candidates", "default", "expected"),
    [
        (("en-GB", "fr"), "fr", "en"),
        ((None, "en"), "fr", "en"),
        ((None, None), "fr", "fr"),
        (("de", None), "en", "en"),
        (("fr_CA",), "en", "fr"),
    ],
)
def test_contact_then_campaign_then_organisation(
    candidates: tuple[str | None, ...], default: str, expected: str
) -> None:
    assert pick_locale(*candidates, default=default) == expected


def test_pages_follow_accept_language_only_when_no_contact_is_known(
    client: FlaskClient, db_session: Session, runtime: Runtime
) -> None:
    assert "Access my data" in client.get("/access", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(
        as_text=True
    )
    assert "Accéder à mes données" in client.get("/access").get_data(as_text=True)

    english = ContactFactory(locale="en")
    unknown_language = ContactFactory(locale=None)
    db_session.commit()
    page = client.get(
        f"/p/{portal_token(runtime.tokens, english.public_id)}", headers={"Accept-Language": "fr"}
    )
    assert '<html lang="en">' in page.get_data(as_text=True)
    page = client.get(
        f"/p/{portal_token(runtime.tokens, unknown_language.public_id)}", headers={"Accept-Language": "en"}
    )
    assert '<html lang="fr">' in page.get_data(as_text=True)  # the organisation's default, not the browser's


@pytest.mark.parametrize(
    ("contact_locale", "campaign_locale", "expected"),
    [("en", "fr", "Unsubscribe from"), (None, "en", "Unsubscribe from"), (None, None, "Se désinscrire de")],
)
def test_footer_language(
    db_session: Session, settings: Settings, runtime: Runtime,
    contact_locale: str | None, campaign_locale: str | None, expected: str,
) -> None:  # fmt: skip
    purpose = PurposeFactory()
    campaign = CampaignFactory(purpose_id=purpose.id, locale=campaign_locale)
    contact = ContactFactory(locale=contact_locale)
    message = EmailRenderer(settings, runtime.tokens, campaign, purpose).render(contact, 1).message()
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert expected in text and expected in html


def test_the_template_catalogue_holds_every_text_of_the_code_and_templates() -> None:
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    root = resource_dir("templates").parent
    method_map = [("sender/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    found = {
        message[2]
        for message in extract_from_dir(str(root), method_map, keywords={**DEFAULT_KEYWORDS, "_l": None})
    }
    template = {m.id for m in read_po((resource_dir("translations") / "messages.pot").open("rb")) if m.id}
    assert found == template, (
        "run: pybabel extract -F babel.cfg -k _l -o translations/messages.pot --no-location --omit-header ."
    )


def test_every_stored_code_has_a_french_and_an_english_label() -> None:
    """Each value of every enum of sender.enums (and of the models' code sets) reads as words in both languages."""
    from enum import StrEnum

    from sender import enums
    from sender.i18n import translations
    from sender.web.labels import code_sets, english

    sets = code_sets()
    enum_names = {n for n, k in vars(enums).items() if isinstance(k, type) and issubclass(k, StrEnum)}
    assert enum_names - {"StrEnum"} <= set(sets)
    french = translations("fr")
    unlabelled, untranslated = [], []
    for kind, codes in sets.items():
        for code in codes:
            text = english(code, kind)
            if not text or "_" in text:
                unlabelled.append(f"{kind}.{code}")
            elif not french.gettext(text) or (french.gettext(text) == text and text not in SAME_IN_FRENCH):
                untranslated.append(f"{kind}.{code}: {text}")
    assert unlabelled == [] and untranslated == []
