"""Translations: the French catalog compiles offline when its .mo is missing, and pages follow the
organisation's language."""

from __future__ import annotations

import gettext
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.models import OrganisationSettings
from sender.paths import resource_dir
from sender.web.i18n import _compile_missing


def test_a_missing_catalog_is_compiled_at_start(tmp_path: Path) -> None:
    shutil.copytree(resource_dir("translations"), tmp_path / "translations")
    mo = tmp_path / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
    mo.unlink()
    _compile_missing(str(tmp_path / "translations"))
    french = gettext.translation("messages", str(tmp_path / "translations"), languages=["fr"])
    assert french.gettext("Sign in") == "Se connecter"


def test_pages_follow_the_organisation_language(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    client = client_as("marketer")
    assert ">Contacts<" in client.get("/admin/contacts").get_data(as_text=True)
    assert '<html lang="en">' in client.get("/admin/").get_data(as_text=True)
    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    db_session.commit()
    page = client.get("/admin/").get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert "Tableau de bord" in page and "Se déconnecter" in page


def test_a_refused_french_form_says_why_in_french_at_each_field(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    from tests.admin.conftest import post

    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    db_session.commit()
    client = client_as("admin")
    answer = post(client, "/admin/purposes", {"slug": "", "name": "", "retention_days": "soon"})
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    # Each message sits in its field's block, tied to the control, in the page's language.
    required = re.compile(
        r'<div class="field invalid">\s*<label for="name">[^<]*</label>.*?'
        r'<span class="error" id="name-error">Ce champ est requis\.</span>',
        re.S,
    )
    assert required.search(page), page
    assert 'id="legal_basis-error">N&#39;est pas un choix valide.' in page
    assert "This field is required" not in page and "Not a valid choice" not in page


def test_staff_pages_show_codes_as_words_in_the_page_language(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    from sender.services.consent import ledger
    from tests.factories import ContactFactory, PurposeFactory

    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    purpose = PurposeFactory(slug="suivi", legal_basis="legitimate_interest")
    contact = ContactFactory()
    ledger.record(db_session, contact, purpose, channel="email", action="withdraw", source="one_click",
                  mechanism="link", actor="contact")  # fmt: skip
    db_session.commit()
    client = client_as("dpo")
    register = client.get("/admin/purposes").get_data(as_text=True)
    assert "<td>Intérêt légitime</td>" in register and ">legitimate_interest<" not in register
    history = client.get(f"/admin/contacts/{contact.public_id}").get_data(as_text=True)
    assert "Désinscription en un clic" in history and "one_click" not in history
    assert "(Délégué à la protection des données)" in history


def test_a_service_refusal_is_shown_in_french_at_its_field(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    from tests.admin.conftest import post

    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    db_session.commit()
    client = client_as("admin")
    data = {"slug": "Pas Bon!", "name": "Lettre", "description": "Chaque mois", "legal_basis": "consent",
            "retention_days": "99999"}  # fmt: skip
    answer = post(client, "/admin/purposes", data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="slug-error">doit compter de 1 à 64 minuscules, chiffres ou tirets' in page
    assert 'id="retention_days-error">doit être un nombre entier de jours entre 1 et 36500</span>' in page
    assert "slug:" not in page and "must be" not in page
