"""The import pages: upload and dry run, report, commit, CSV download, progress, roles and CSRF."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.config import Settings
from sender.models import Contact, ImportBatch
from sender.services.audience import contacts
from tests.admin_imports.conftest import csrf_token
from tests.import_helpers import csv_bytes

FILE = csv_bytes(
    "E-mail,Prénom,Téléphone",
    "ann@example.org,Ann,0612345678",
    "bob@example.org,Bob,12",
    "nope,Bad,",
    "gone@example.org,Gone,",
)


def _upload(client: FlaskClient, content: bytes = FILE, **form: str) -> tuple[int, str, str]:
    data = {
        "csrf_token": csrf_token(client),
        "source": "salon",
        "legal_basis": "unknown",
        "mechanism": "checkbox",
        **form,
    }
    response = client.post(
        "/admin/imports",
        data={**data, "file": (io.BytesIO(content), "salon.csv")},
        content_type="multipart/form-data",
    )
    return response.status_code, response.headers.get("Location", ""), response.get_data(as_text=True)


def _cells(html: str) -> list[list[str]]:
    body = html.split('<table class="report">', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr class=\"\w+\">(.*?)</tr>", body)]


def test_upload_shows_the_dry_run_report_then_commits(
    client_as: Callable[[str], FlaskClient], db_session: Session, settings: Settings
) -> None:
    contacts.suppress(db_session, address_hash(settings.hash_key, "gone@example.org"), "email", "hard_bounce")
    db_session.commit()
    client = client_as("marketer")

    status, location, _ = _upload(client)
    assert status == 302 and re.fullmatch(r"/admin/imports/\d+", location)
    page = client.get(location).get_data(as_text=True)

    assert "Dry run: nothing has been written yet." in page
    assert "new contacts from this file are legacy" in page
    rows = _cells(page)
    assert rows[:3] == [
        ["2", "Row accepted", "", ""],
        ["3", "Row accepted", "", ""],
        ["3", "Row accepted", "Téléphone", "not a valid phone number for its country; field left empty"],
    ]
    assert rows[3][:3] == ["4", "Row refused", "E-mail"]
    assert (
        rows[4][:3] == ["5", "Row refused", "E-mail"]
        and "suppression list (Address does not exist (hard bounce))" in rows[4][3]
    )
    assert db_session.scalar(select(Contact).where(Contact.email == "ann@example.org")) is None

    token = csrf_token(client, location)
    committed = client.post(f"{location}/commit", data={"csrf_token": token}, follow_redirects=True)
    assert "Import committed." in committed.get_data(as_text=True)
    ann = db_session.scalar(select(Contact).where(Contact.email == "ann@example.org"))
    assert ann is not None and ann.is_legacy

    report = client.get(f"{location}/report.csv")
    assert report.mimetype == "text/csv"
    assert (
        report.get_data(as_text=True).splitlines()[3]
        == "3,accepted,Téléphone,not a valid phone number for its country; field left empty"
    )
    assert client.get(f"{location}/progress").get_json() == {"status": "committed", "percent": 100}


def test_bad_provenance_is_shown_next_to_its_field(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    client = client_as("admin")

    status, _, page = _upload(client, legal_basis="consent")

    assert status == 422
    assert re.search(r'id="collected_on-error">is required to claim consent', page)
    assert db_session.scalars(select(ImportBatch)).all() == []


def test_a_malformed_file_is_reported_on_its_page(client_as: Callable[[str], FlaskClient]) -> None:
    client = client_as("marketer")

    status, location, _ = _upload(client, content=b'email\r\n"a@example.org\r\n')

    page = client.get(location).get_data(as_text=True)
    assert status == 302 and "file: row 2 (line 2): " in page and ">Failed<" in page


def test_a_dpo_reads_imports_but_cannot_upload_or_commit(client_as: Callable[[str], FlaskClient]) -> None:
    marketer, dpo = client_as("marketer"), client_as("dpo")
    _, location, _ = _upload(marketer)

    assert "Import a CSV file" not in dpo.get("/admin/imports").get_data(as_text=True)
    assert "Commit the import" not in dpo.get(location).get_data(as_text=True)
    assert dpo.get(location).status_code == 200
    token = csrf_token(dpo, location.replace("/admin/imports/", "/admin/imports/"))
    assert dpo.post("/admin/imports", data={"csrf_token": token}).status_code == 403
    assert dpo.post(f"{location}/commit", data={"csrf_token": token}).status_code == 403


def test_posts_without_a_csrf_token_are_refused(client_as: Callable[[str], FlaskClient]) -> None:
    client = client_as("marketer")

    response = client.post(
        "/admin/imports", data={"source": "x", "legal_basis": "unknown", "file": (io.BytesIO(FILE), "a.csv")}
    )

    assert response.status_code == 400


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/admin/imports")

    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/signin")
