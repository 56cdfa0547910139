"""A service's refusal reason shown on a French staff page is French, at its field or in the flashed notice
(issue 16: no English left on French pages), one case per area of services."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import ImportBatch, ListMember, OrganisationSettings
from sender.services.rights.erasure import erase
from tests.admin.conftest import post
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory
from tests.import_helpers import csv_bytes

ClientAs = Callable[[str], FlaskClient]


@pytest.fixture(autouse=True)
def french(db_session: Session) -> None:
    """The organisation writes in French: staff pages follow it."""
    db_session.add(OrganisationSettings(id=1, default_locale="fr"))
    db_session.commit()


def _field_error(body: str, field: str) -> str:
    """The error shown under one field, unescaped."""
    match = re.search(rf'<span class="error" id="{re.escape(field)}-error">([^<]*)</span>', body)
    assert match, f"no error at {field}"
    return html.unescape(match.group(1))


def test_rights_erasing_an_erased_contact_says_why_in_french(
    client_as: ClientAs, db_session: Session, settings: Any
) -> None:
    contact = ContactFactory()
    erase(db_session, settings, contact, actor="test", notify=False)
    db_session.commit()
    page = f"/admin/contacts/{contact.public_id}"
    answer = post(
        client_as("admin"), f"{page}/erase", {"confirm": "y"}, token_page=page, follow_redirects=True
    )
    body = html.unescape(answer.get_data(as_text=True))
    assert "le contact est déjà effacé" in body
    assert "the contact is already erased" not in body


def test_audience_an_import_claiming_consent_without_its_date_is_refused_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    client = client_as("marketer")
    file = csv_bytes("E-mail,Prénom", "ann@example.org,Ann")
    form = {"source": "salon", "legal_basis": "consent", "mechanism": "checkbox"}
    answer = post(
        client,
        "/admin/imports",
        {**form, "file": (io.BytesIO(file), "salon.csv")},
        token_page="/admin/imports",
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert _field_error(answer.get_data(as_text=True), "collected_on") == (
        "est obligatoire pour se prévaloir du consentement (legal_basis consent) ; "
        "à défaut, utilisez legal_basis unknown"
    )
    assert db_session.scalars(select(ImportBatch)).all() == []


def test_audience_a_segment_name_taken_is_refused_in_french_with_its_name(
    client_as: ClientAs, db_session: Session
) -> None:
    client = client_as("marketer")
    form = {"name": "Clients VIP", "groups-0-tags": "vip"}
    assert post(client, "/admin/segments/new", form, token_page="/admin/lists").status_code == 302
    again = post(client, "/admin/segments/new", form, token_page="/admin/lists")
    assert again.status_code == 409
    assert "un segment s'appelle déjà 'Clients VIP'" in html.unescape(again.get_data(as_text=True))


def test_consent_a_grant_without_its_wording_version_is_refused_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    contact = ContactFactory()
    db_session.commit()
    page = f"/admin/contacts/{contact.public_id}"
    data = {"purpose": "news", "channel": "email", "action": "grant", "mechanism": "signed_form"}
    answer = post(client_as("marketer"), f"{page}/consents", data, token_page=page)
    assert answer.status_code == 422
    assert _field_error(answer.get_data(as_text=True), "wording_version") == (
        "un consentement doit nommer la version du libellé que la personne a vue"
    )


def test_campaigns_a_draft_without_an_audience_is_refused_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(slug="news")
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[ListFactory()])
    db_session.commit()
    data = {
        "name": "Décembre",
        "purpose": "news",
        "kind": "marketing",
        "lists": [],
        "segments": [],
        "subject": "Nouvelles",
        "body_text": "Bonjour {{ contact.first_name }}",
        "body_format": "html",
        "body_source": "<p>Bonjour</p>",
    }
    answer = post(client_as("marketer"), f"/admin/campaigns/{campaign.id}/edit", data)
    assert answer.status_code == 422
    body = html.unescape(answer.get_data(as_text=True))
    assert "choisissez au moins une liste ou un segment" in body
    assert "choose at least one list or segment" not in body


def test_records_a_late_notification_is_refused_in_french_with_its_figures(client_as: ClientAs) -> None:
    dpo = client_as("dpo")
    recorded = post(
        dpo,
        "/admin/breaches",
        {
            "title": "Export volé",
            "facts": "Un export CSV des contacts a été volé.",
            "data_categories": "e-mail",
            "people_affected": "12",
            "records_affected": "12",
            "aware_at": "2026-11-02T09:00",
        },
    )
    assert recorded.status_code == 303, recorded.get_data(as_text=True)[:2000]
    incident = recorded.headers["Location"].rsplit("/", 1)[1]
    late = {"notified_at": "2026-11-05T10:00", "reference": "CNIL-2026-17"}
    refused = post(dpo, f"/admin/breaches/{incident}/notification", late)
    assert refused.status_code == 422
    # 09:00 Paris time is 08:00 UTC; the deadline is 72 hours later, the notification 1 h 00 past it.
    assert _field_error(refused.get_data(as_text=True), "late_reasons").startswith(
        "la notification intervient "
    )
    assert "après le délai de 72 heures (2026-11-05T08:00:00Z)" in _field_error(
        refused.get_data(as_text=True), "late_reasons"
    )


def test_messages_a_test_send_to_an_unknown_sample_is_refused_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    members = ListFactory()
    jeanne = ContactFactory(first_name="Jeanne")
    db_session.add(ListMember(list_id=members.id, contact_id=jeanne.id))
    campaign = CampaignFactory(purpose_id=PurposeFactory().id, lists=[members])
    db_session.commit()
    page = f"/admin/campaigns/{campaign.id}"
    answer = post(
        client_as("marketer"),
        f"{page}/test",
        {"address": "me@exemple.org", "sample": "nobody@example.org"},
        token_page=page,
    )
    assert answer.status_code == 422
    assert _field_error(answer.get_data(as_text=True), "sample") == "aucun contact n'a cette adresse"


def test_audience_an_import_report_says_each_row_problem_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    # The report stores each problem's code and values; the page says them in the staff's language.
    client = client_as("marketer")
    file = csv_bytes(
        "E-mail,Prénom,Pays,Téléphone",
        "ann@example.org,Ann,Atlantide,",
        "bob@example.org," + "B" * 101 + ",FR,",
        "pas-une-adresse,Chloé,FR,",
        ",Denis,FR,",
        "eve@example.org,Eve,FR,12",
    )
    answer = post(
        client,
        "/admin/imports",
        {"source": "salon", "legal_basis": "unknown", "file": (io.BytesIO(file), "salon.csv")},
        token_page="/admin/imports",
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert answer.status_code == 200
    body = html.unescape(answer.get_data(as_text=True))
    for french in (
        "pays inconnu : indiquez un code ISO comme FR ou un nom comme France (en français ou en anglais) ; "
        "champ laissé vide",
        "plus de 100 caractères ; champ laissé vide",
        "adresse e-mail non valide",
        "ni adresse e-mail ni numéro de téléphone",
        "numéro de téléphone non valide pour son pays ; champ laissé vide",
    ):
        assert french in body, french
    for english in (
        "not a country",
        "longer than",
        "not a valid email address",
        "no email or phone",
        "field left empty",
    ):
        assert english not in body, english


def test_messages_template_check_errors_come_back_from_the_child_process_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    # The check runs in a child process (isolation.py): its reasons cross as (msgid, values), said here.
    purpose = PurposeFactory(slug="news")
    campaign = CampaignFactory(purpose_id=purpose.id, lists=[ListFactory()])
    db_session.commit()
    data = {
        "name": "Décembre",
        "purpose": "news",
        "kind": "marketing",
        "lists": [str(campaign.lists[0].id)],
        "segments": [],
        "subject": "Nouvelles {{ contact.first_name }}\n{{ contact.last_name }}",
        "body_text": "Bonjour {{ client.first_name }}",
        "body_format": "html",
        "source_format": "html",
        "body_source": "<p>Bonjour {{ contact.first_name }}</p><!--",
    }
    answer = post(client_as("marketer"), f"/admin/campaigns/{campaign.id}/edit", data)
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert _field_error(body, "subject") == "ligne 2 : l'objet doit tenir sur une ligne"
    assert _field_error(body, "body_text") == (
        "ligne 1 : nom inconnu 'client' ; seul 'contact' est disponible"
    )
    assert _field_error(body, "body_source").startswith("un balisage resté ouvert à la fin")
    assert "unknown name" not in body and "must fit on one line" not in body


def test_audience_list_members_pasted_say_per_line_why_in_french(
    client_as: ClientAs, db_session: Session
) -> None:
    ContactFactory(email="ann@example.org")
    salon = ListFactory(name="Salon")
    db_session.commit()
    page = f"/admin/lists/{salon.id}"
    pasted = "ann@example.org\nnobody@example.org\n\nann@@example\n06 12"
    answer = post(
        client_as("marketer"), f"{page}/members", {"emails": pasted}, token_page=page, follow_redirects=True
    )
    assert answer.status_code == 200
    body = html.unescape(answer.get_data(as_text=True))
    assert "1 ajouté" in body
    assert "ligne 2 (nobody@example.org) : aucun contact n'a cette adresse" in body
    assert "ligne 4 (ann@@example) : adresse e-mail non valide" in body
    assert "ligne 5 (06 12) : " in body
    assert "no contact has this address" not in body and "line " not in body
    members = db_session.scalars(select(ListMember).where(ListMember.list_id == salon.id)).all()
    assert len(members) == 1
