"""The first-run form flags every fault at once, by the account service's own rules, in the page's language;
the organisation's time zone is chosen from the IANA list."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import available_timezones

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import OrganisationSettings, User
from tests.admin.conftest import post

LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}


def _errors(page: str) -> dict[str, str]:
    return dict(re.findall(r'<span class="error" id="([a-z_]+)-error">([^<]*)</span>', page))


def test_every_setup_fault_is_flagged_at_its_field(client: FlaskClient, db_session: Session) -> None:
    answer = post(
        client,
        "/admin/setup",
        {"email": "not an address", "password": "short", "confirm": "shorter"},
        token_page="/admin/setup",
        environ_base=LOOPBACK,
    )
    assert answer.status_code == 422
    errors = _errors(answer.get_data(as_text=True))
    assert errors == {
        "email": "Enter a valid email address, such as name@example.org.",
        "password": "Too short: at least 12 characters.",
        "confirm": "Passwords differ.",
    }
    assert db_session.scalar(select(func.count()).select_from(User)) == 0


def test_setup_speaks_french_at_each_field(client: FlaskClient, db_session: Session) -> None:
    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    db_session.commit()
    answer = post(
        client,
        "/admin/setup",
        {"email": "jeanne@", "password": "court", "confirm": "court"},
        token_page="/admin/setup",
        environ_base=LOOPBACK,
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and '<html lang="fr">' in page
    assert _errors(page) == {
        "email": "Saisissez une adresse e-mail valide, par exemple nom@exemple.org.",
        "password": "Trop court : au moins 12 caractères.",
    }
    assert 'aria-describedby="email-error" aria-invalid="true"' in page


def test_the_time_zone_is_chosen_from_the_iana_list(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    client = client_as("admin")
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert re.search(r'<select [^>]*id="timezone"', page)
    offered = set(re.findall(r'<option (?:selected )?value="([^"]+)"', page.split('id="timezone"', 1)[1]))
    assert offered >= available_timezones() - {""}
    assert re.search(r'<option selected value="Europe/Paris">', page)
    refused = post(
        client,
        "/admin/organisation",
        {"legal_name": "Exemple SAS", "default_locale": "en", "timezone": "Europe/Atlantis"},
        token_page="/admin/organisation",
    )
    assert refused.status_code == 422
    assert "timezone" in _errors(refused.get_data(as_text=True))
    assert db_session.get(OrganisationSettings, 1) is None
