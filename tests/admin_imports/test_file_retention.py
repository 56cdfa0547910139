"""Uploaded files do not outlive their use (issue 15.9): deleted at commit, after IMPORT_FILE_DAYS unused, and
an erased person's rows removed from any file still kept."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Contact, ImportBatch, ImportFileChunk
from sender.runtime import Runtime
from sender.services.audience import csvfile
from sender.services.rights import retention
from tests.admin_imports.conftest import csrf_token
from tests.factories import ContactFactory
from tests.import_helpers import csv_bytes


def _upload(client: FlaskClient, content: bytes) -> str:
    data = {"csrf_token": csrf_token(client), "source": "salon", "legal_basis": "unknown"}
    response = client.post(
        "/admin/imports",
        data={**data, "file": (io.BytesIO(content), "salon.csv")},
        content_type="multipart/form-data",
    )
    location = response.headers.get("Location", "")
    assert response.status_code == 302 and re.fullmatch(r"/admin/imports/\d+", location)
    return location


def _stored(session: Session, batch_id: int) -> bytes:
    session.expire_all()
    chunks = session.scalars(
        select(ImportFileChunk.data).where(ImportFileChunk.batch_id == batch_id).order_by(ImportFileChunk.seq)
    )
    return b"".join(bytes(chunk) for chunk in chunks)


def _batch(session: Session, location: str) -> ImportBatch:
    session.expire_all()
    batch = session.get(ImportBatch, int(location.rsplit("/", 1)[1]))
    assert batch is not None
    return batch


def test_a_committed_file_is_deleted_by_its_commit(
    client_as: Callable[[str], FlaskClient], db_session: Session
) -> None:
    client = client_as("marketer")
    location = _upload(client, csv_bytes("email", "ann@example.org"))
    assert b"ann@example.org" in _stored(db_session, _batch(db_session, location).id)

    token = csrf_token(client, location)
    assert client.post(f"{location}/commit", data={"csrf_token": token}).status_code == 302

    batch = _batch(db_session, location)
    assert batch.status == "committed" and batch.file_deleted_at is not None
    assert _stored(db_session, batch.id) == b""


def test_an_uncommitted_file_is_deleted_after_import_file_days(
    client_as: Callable[[str], FlaskClient], db_session: Session, runtime: Runtime
) -> None:
    client = client_as("marketer")
    location = _upload(client, csv_bytes("email", "ann@example.org"))
    batch = _batch(db_session, location)
    days = runtime.settings.import_file_days
    assert days == 7

    early = retention.run(runtime, now=batch.updated_at + timedelta(days=days, seconds=-1))
    assert early.import_files_deleted == 0 and _stored(db_session, batch.id) != b""
    late = retention.run(runtime, now=batch.updated_at + timedelta(days=days, seconds=1))
    assert late.import_files_deleted == 1 and _stored(db_session, batch.id) == b""

    # The page says why the batch cannot be committed any more, and a commit is refused with it.
    token = csrf_token(client, location)
    refused = client.post(f"{location}/commit", data={"csrf_token": token}, follow_redirects=True)
    assert "the file was deleted (IMPORT_FILE_DAYS without a commit)" in refused.get_data(as_text=True)
    assert _batch(db_session, location).status == "analysed"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_erasure_removes_the_person_from_a_kept_file(
    client_as: Callable[[str], FlaskClient],
    db_session: Session,
    monkeypatch: pytest.MonkeyPatch,
    encoding: str,
) -> None:
    monkeypatch.setattr(csvfile, "CHUNK_BYTES", 64)  # rows cross chunk boundaries
    person = ContactFactory(email="jeanne@example.org", phone="+33612345678")
    db_session.commit()
    others = [f"p{i}@example.org;Zoé {i};" for i in range(20)]
    content = csv_bytes(
        "E-mail;Prénom;Téléphone",
        *others[:10],
        "Jeanne@Example.org;Jeanne;",
        ";Jeanne;06 12 34 56 78",
        *others[10:],
        encoding=encoding,
    )
    client = client_as("admin")
    location = _upload(client, content)
    batch_id = _batch(db_session, location).id

    page = f"/admin/contacts/{person.public_id}/erase"
    token = csrf_token(client, page)
    assert client.post(page, data={"csrf_token": token, "confirm": "y"}).status_code == 302

    kept = _stored(db_session, batch_id).decode(encoding)
    assert "jeanne" not in kept.lower() and "12 34 56 78" not in kept
    assert kept.splitlines() == ["E-mail;Prénom;Téléphone", *others]
    # What is left still imports, and the erased person does not come back.
    token = csrf_token(client, location)
    assert client.post(f"{location}/commit", data={"csrf_token": token}).status_code == 302
    batch = _batch(db_session, location)
    assert (batch.status, batch.accepted, batch.refused) == ("committed", 20, 0)
    assert db_session.scalar(select(Contact).where(Contact.email == "jeanne@example.org")) is None
