"""Parallel requests against a real threaded server: a lost race is a 409, never a 500."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from sender import create_app
from sender.models import Contact, ContactList
from sender.runtime import Runtime
from sender.services.accounts import users

PARALLEL = 20


@pytest.fixture
def server(committed: Runtime) -> Iterator[tuple[str, str]]:
    """The app served by werkzeug's threaded server on a free port, and an admin token."""
    with committed.Session() as session:
        user = users.create_user(session, "admin@exemple.org", "admin", "correct horse battery")
        token = users.issue_token(session, user).value
        session.commit()
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, create_app(runtime=committed), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/api/v1", token
    finally:
        httpd.shutdown()
        thread.join(10)


def _post(url: str, token: str, body: dict[str, object], start: threading.Barrier) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    start.wait()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read())
        assert answer["error"] == "conflict" and "@" not in answer["message"], answer
        return exc.code


def _race(url: str, token: str, body: dict[str, object]) -> Counter[int]:
    start = threading.Barrier(PARALLEL)
    with ThreadPoolExecutor(PARALLEL) as pool:
        return Counter(pool.map(lambda _: _post(url, token, body, start), range(PARALLEL)))


def test_parallel_creations_of_one_email_give_one_201_and_409s(
    server: tuple[str, str], committed: Runtime
) -> None:
    api, token = server
    statuses = _race(f"{api}/contacts", token, {"email": "same@example.org"})
    assert statuses == Counter({201: 1, 409: PARALLEL - 1})
    with committed.Session() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1


def test_parallel_creations_of_one_list_name_give_one_201_and_409s(
    server: tuple[str, str], committed: Runtime
) -> None:
    api, token = server
    statuses = _race(f"{api}/lists", token, {"name": "VIP"})
    assert statuses == Counter({201: 1, 409: PARALLEL - 1})
    with committed.Session() as session:
        assert session.scalar(select(func.count()).select_from(ContactList)) == 1
