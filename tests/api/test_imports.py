"""API: /imports — upload with provenance and dry run, commit, report pages and CSV, refusals."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.config import Settings
from sender.models import Contact, ImportBatch
from sender.runtime import Runtime
from sender.services.audience import contacts
from sender.tasks.queue import publish_progress
from sender.work.jobs import RunImport
from tests.api.helpers import PREFIX, Api, create_purpose
from tests.import_helpers import csv_bytes

FILE = csv_bytes(
    "Courriel;Prénom;Téléphone",
    "ann@example.org;Ann;06 12 34 56 78",
    "bob@example.org;Bob;12",  # bad phone: Bob is imported without it
    "not-an-email;Bad;",  # refused
    "gone@example.org;Gone;",  # suppressed
    sep=";",
)
PROOF = {
    "source": "salon-2026-stand",
    "legal_basis": "consent",
    "purpose": "newsletter",
    "wording_version": "1",
    "collected_on": "2026-03-14",
}


def import_job_id(batch_id: int, mode: str) -> str:
    """The queue's id of a batch's run."""
    return RunImport(batch_id=batch_id, mode=mode).job_id


def upload(api: Api, content: bytes, status: int, **form: Any) -> Any:
    """POST /imports as multipart/form-data and check the answer against the document."""
    response = api.client.post(
        f"{PREFIX}/imports",
        data={"file": (io.BytesIO(content), "salon.csv"), **form},
        headers=api.headers,
        content_type="multipart/form-data",
    )
    body = response.get_json()
    assert response.status_code == status, body
    api.check("POST", "/imports", status, body)
    return body


def _contacts(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(Contact)) or 0


def test_upload_dry_run_report_then_commit(api: Api, db_session: Session, settings: Settings) -> None:
    create_purpose(api)
    contacts.suppress(db_session, address_hash(settings.hash_key, "gone@example.org"), "email", "erasure")
    db_session.commit()

    batch = upload(api, FILE, 201, **PROOF)

    assert batch["status"] == "analysed" and batch["progress"] == 1.0
    assert batch["counts"] == {
        "rows": 4,
        "accepted": 2,
        "merged": 0,
        "refused": 2,
        "fields_dropped": 1,
        "consents_recorded": 2,
        "rows_own_proof": 0,
        "rows_batch_proof": 2,
        "rows_legacy": 0,
    }
    assert batch["legacy"] is False and batch["encoding"] == "utf-8" and batch["delimiter"] == ";"
    assert [c["field"] for c in batch["mapping"]] == ["email", "first_name", "phone"]
    assert _contacts(db_session) == 0  # a dry run writes no contact
    page = api.get(f"/imports/{batch['id']}/report", query={"limit": 3})
    assert [(line["row"], line["outcome"], line["column"]) for line in page["items"]] == [
        (2, "accepted", ""),
        (3, "accepted", ""),
        (3, "accepted", "Téléphone"),
    ]
    rest = api.get(f"/imports/{batch['id']}/report", query={"cursor": page["next_cursor"]})
    assert [(line["row"], line["outcome"]) for line in rest["items"]] == [(4, "refused"), (5, "refused")]
    assert "suppression list" in rest["items"][1]["reason"]
    # Each problem keeps a stable code beside its English text.
    assert [line["code"] for line in page["items"]] == ["", "", "invalid_phone"]
    assert page["items"][2]["reason"] == "not a valid phone number for its country; field left empty"
    assert [line["code"] for line in rest["items"]] == ["invalid_email", "suppressed"]
    refused = api.get(f"/imports/{batch['id']}/report", query={"outcome": "refused"})
    assert len(refused["items"]) == 2

    committed = api.post(f"/imports/{batch['id']}/commit", None, 200)

    assert committed["status"] == "committed" and committed["committed_at"] is not None
    assert _contacts(db_session) == 2
    bob = db_session.scalar(select(Contact).where(Contact.email == "bob@example.org"))
    assert bob is not None and bob.phone is None and not bob.is_legacy
    api.post(f"/imports/{batch['id']}/commit", None, 409)


def test_the_report_downloads_as_csv_with_formulas_neutralised(api: Api) -> None:
    content = csv_bytes("=SUM(A1)|email", "x|a@example.org", "y|@bad")
    batch = upload(
        api, content, 201, source="crm", legal_basis="unknown", mapping='{"=SUM(A1)": "first_name"}'
    )

    response = api.client.get(batch["report_csv"], headers=api.headers)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        response.headers["Content-Disposition"] == f'attachment; filename="import-{batch["id"]}-report.csv"'
    )
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "row,outcome,column,reason"
    assert lines[1] == "2,accepted,,"
    assert lines[2].startswith("3,refused,email,")


def test_without_proof_the_batch_is_legacy(api: Api, db_session: Session) -> None:
    batch = upload(api, csv_bytes("email", "old@example.org"), 201, source="old CRM", legal_basis="unknown")
    api.post(f"/imports/{batch['id']}/commit", None, 200)

    person = api.get("/contacts", query={"email": "old@example.org"})["items"][0]

    assert batch["legacy"] is True
    assert person["is_legacy"] is True and person["source"] == "import"


def test_bad_provenance_is_a_422_naming_each_field_and_stores_nothing(api: Api, db_session: Session) -> None:
    body = upload(
        api,
        FILE,
        422,
        source="salon",
        legal_basis="consent",
        purpose="nope",
        collected_on="14/03/2026",
        colour="red",
    )

    assert set(body["fields"]) == {"colour"}
    body = upload(
        api, FILE, 422, source="salon", legal_basis="consent", purpose="nope", collected_on="14/03/2026"
    )
    assert set(body["fields"]) == {"purpose", "collected_on", "wording_version"}
    assert db_session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_a_missing_file_or_a_malformed_one_is_a_precise_422(api: Api) -> None:
    response = api.client.post(
        f"{PREFIX}/imports", data={"source": "x", "legal_basis": "unknown"}, headers=api.headers
    )
    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "file": "is required: send the CSV as multipart/form-data field `file`"
    }

    body = upload(
        api, b'email\r\na@example.org\r\n"b@example.org\r\n', 422, source="x", legal_basis="unknown"
    )
    assert body["fields"]["file"].startswith("row 3 (line 3): ")
    listed = api.get("/imports")["items"][-1]
    assert listed["status"] == "failed" and listed["error"].startswith("file: row 3")


def test_the_same_file_is_committed_once(api: Api) -> None:
    first = upload(api, FILE, 201, source="x", legal_basis="unknown")
    api.post(f"/imports/{first['id']}/commit", None, 200)

    body = upload(api, FILE, 409, source="x", legal_basis="unknown")

    assert body["message"] == f"this file was already imported (batch {first['id']}); nothing was stored"


def test_a_large_file_is_dry_run_by_a_job_and_reports_progress(
    api: Api, runtime: Runtime, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_overrides(import_inline_bytes=10))

    batch = upload(api, FILE, 202, source="x", legal_basis="unknown")

    assert batch["status"] == "analysing" and batch["progress"] == 0.0
    job_ids = runtime.queue("default").job_ids
    assert job_ids == [import_job_id(batch["id"], "analyse")]
    job = runtime.queue("default").fetch_job(job_ids[0])
    assert job is not None and job.args == [batch["id"]]  # only the id travels, never the file
    publish_progress(redis_conn, batch["id"], 0.25)
    assert api.get(f"/imports/{batch['id']}")["progress"] == 0.25
    api.post(f"/imports/{batch['id']}/commit", None, 409)  # the dry run is still running


def test_a_large_file_whose_job_cannot_be_queued_fails_and_says_so(
    api: Api, runtime: Runtime, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_overrides(import_inline_bytes=10))
    # Nothing listens on port 1: the start of the run is committed, then its job cannot be sent.
    monkeypatch.setattr(runtime, "_redis", Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))

    response = api.client.post(
        f"{PREFIX}/imports",
        data={"file": (io.BytesIO(FILE), "salon.csv"), "source": "x", "legal_basis": "unknown"},
        headers=api.headers,
        content_type="multipart/form-data",
    )

    assert response.status_code == 503
    assert response.get_json()["error"] == "queue_unavailable"
    batch = db_session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
    assert batch is not None and batch.status == "failed"
    assert batch.error == "the job queue (Redis) is unavailable; nothing was written, try again"


def test_a_dpo_reads_imports_but_cannot_upload(
    api: Api, client: FlaskClient, dpo_headers: dict[str, str]
) -> None:
    batch = upload(api, FILE, 201, source="x", legal_basis="unknown")

    response = client.post(
        f"{PREFIX}/imports",
        data={"file": (io.BytesIO(FILE), "x.csv"), "source": "x", "legal_basis": "unknown"},
        headers=dpo_headers,
    )
    assert response.status_code == 403
    assert client.post(f"{PREFIX}/imports/{batch['id']}/commit", headers=dpo_headers).status_code == 403
    assert client.get(f"{PREFIX}/imports/{batch['id']}/report", headers=dpo_headers).status_code == 200


def test_an_upload_larger_than_the_import_limit_is_a_413(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_overrides(import_max_bytes=10))

    response = api.client.post(
        f"{PREFIX}/imports",
        data={"file": (io.BytesIO(FILE * 20000), "big.csv"), "source": "x", "legal_basis": "unknown"},
        headers=api.headers,
    )

    assert response.status_code == 413


def test_a_run_whose_worker_was_lost_can_be_started_again(
    api: Api, runtime: Runtime, db_session: Session, redis_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_overrides(import_inline_bytes=10))
    batch = upload(api, FILE, 202, source="x", legal_basis="unknown")
    api.post(f"/imports/{batch['id']}/commit", None, 409)  # its job is still queued

    redis_conn.flushdb()  # the job is lost (and the worker with it)
    api.post(f"/imports/{batch['id']}/commit", None, 409)  # too recent to call it lost
    row = db_session.get(ImportBatch, batch["id"])
    assert row is not None
    row.updated_at = datetime(2026, 1, 1)
    db_session.commit()

    restarted = api.post(f"/imports/{batch['id']}/commit", None, 202)

    assert restarted["status"] == "committing"
    assert runtime.queue("default").job_ids == [import_job_id(batch["id"], "commit")]


def test_an_import_fills_the_list_it_names_and_an_unknown_list_is_refused(api: Api) -> None:
    lst = api.post("/lists", {"name": "Salon"})
    unknown = upload(api, FILE, 422, source="salon", legal_basis="unknown", list="999999")
    assert unknown["fields"] == {"list": "no such list"}

    batch = upload(api, FILE, 201, source="salon", legal_basis="unknown", list=str(lst["id"]))
    api.post(f"/imports/{batch['id']}/commit", None, 200)

    members = api.get(f"/lists/{lst['id']}")
    assert members["member_count"] == batch["counts"]["accepted"] == 3
