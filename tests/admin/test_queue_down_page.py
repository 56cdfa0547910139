"""The page shown when the queue (Redis) is down after the work was saved: 503, in the staff pages' language."""

from __future__ import annotations

import html
import io
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy.orm import Session

from sender.models import OrganisationSettings
from sender.runtime import Runtime
from tests.admin.conftest import post
from tests.import_helpers import csv_bytes

ClientAs = Callable[[str], FlaskClient]


def _upload_with_the_queue_down(
    client: FlaskClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    # A file too large to run in the request goes to the queue; nothing listens on port 1.
    monkeypatch.setattr(runtime, "settings", runtime.settings.with_overrides(import_inline_bytes=10))
    page = client.get("/admin/imports")  # the CSRF token is read while Redis is still there
    assert page.status_code == 200
    monkeypatch.setattr(runtime, "_redis", Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5))
    answer = post(
        client,
        "/admin/imports",
        {
            "source": "salon",
            "legal_basis": "unknown",
            "file": (io.BytesIO(csv_bytes("email", "ann@example.org")), "salon.csv"),
        },
        token_page="/admin/imports",
        content_type="multipart/form-data",
    )
    return answer.status_code, html.unescape(answer.get_data(as_text=True))


@pytest.mark.parametrize(
    ("locale", "said", "unsaid"),
    [
        ("en", "Service temporarily unavailable", "indisponible"),
        ("fr", "Service momentanément indisponible", "temporarily unavailable"),
    ],
)
def test_the_queue_down_page_speaks_the_staff_language(
    client_as: ClientAs,
    db_session: Session,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    locale: str,
    said: str,
    unsaid: str,
) -> None:
    db_session.add(OrganisationSettings(id=1, default_locale=locale))
    db_session.commit()
    client = client_as("marketer")

    status, body = _upload_with_the_queue_down(client, runtime, monkeypatch)

    assert status == 503
    assert f'<html lang="{locale}">' in body
    assert said in body and unsaid not in body
