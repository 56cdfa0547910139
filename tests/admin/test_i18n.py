"""Translations: the French catalog compiles offline when its .mo is missing, and pages follow the
organisation's language."""

from __future__ import annotations

import gettext
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
