"""Concurrent sign-ups for one address, and concurrent first-run setups, against a real threaded server:
one winner and the same clean answer for the others, never a 500 (issue 15, item 11)."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from sender import create_app
from sender.models import ConsentState, Contact, User
from sender.runtime import Runtime
from tests import factories
from tests.admin.conftest import PASSWORD
from tests.factories import PurposeFactory, WordingFactory

PARALLEL = 10
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def server(committed: Runtime) -> Iterator[str]:
    """The app served by werkzeug's threaded server on a free port (every request its own thread)."""
    # Plain http here: the session cookie may not be Secure, or no browser would send it back.
    app = create_app({"SESSION_COOKIE_SECURE": False}, runtime=committed)
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(10)


def _status(request: urllib.request.Request, opener: urllib.request.OpenerDirector | None = None) -> int:
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _race(calls: list[urllib.request.Request], openers: list[urllib.request.OpenerDirector]) -> Counter[int]:
    start = threading.Barrier(len(calls))

    def one(index: int) -> int:
        start.wait()
        return _status(calls[index], openers[index])

    with ThreadPoolExecutor(len(calls)) as pool:
        return Counter(pool.map(one, range(len(calls))))


def test_parallel_sign_ups_of_one_address_all_get_the_same_answer(server: str, committed: Runtime) -> None:
    news = PurposeFactory(slug="news")
    WordingFactory(purpose=news)
    factories._session["current"].commit()
    body = json.dumps({"email": "same@example.org", "consents": [{"purpose": "news", "wording_version": 1}]})
    calls = [
        urllib.request.Request(
            f"{server}/signup",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        for _ in range(PARALLEL)
    ]

    statuses = _race(calls, [urllib.request.build_opener() for _ in calls])

    assert statuses == Counter({202: PARALLEL})
    with committed.Session() as session:
        contact = session.scalars(select(Contact).where(Contact.email == "same@example.org")).one()
        assert contact.status == "pending"
        state = session.get(ConsentState, (contact.id, news.id, "email"))
        assert state is not None and state.status == "pending"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _setup_form(server: str) -> tuple[urllib.request.OpenerDirector, str]:
    """A browser with its own cookie jar on the setup page, and the CSRF token of its form."""
    # Answers are counted as they come: a redirect is not followed.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect())
    with opener.open(f"{server}/admin/setup", timeout=60) as page:
        found = _CSRF.search(page.read().decode())
    assert found is not None
    return opener, found.group(1)


def test_parallel_first_run_setups_create_one_admin(server: str, committed: Runtime) -> None:
    forms = [_setup_form(server) for _ in range(PARALLEL)]
    openers, calls = [], []
    for index, (opener, token) in enumerate(forms):
        openers.append(opener)
        email = f"admin{index}@exemple.org"
        data = {"csrf_token": token, "email": email, "password": PASSWORD, "confirm": PASSWORD}
        calls.append(
            urllib.request.Request(
                f"{server}/admin/setup", data=urllib.parse.urlencode(data).encode(), method="POST"
            )
        )

    statuses = _race(calls, openers)

    # One admin; every other browser is sent to the sign-in form, the same answer a late setup gets.
    assert statuses == Counter({302: PARALLEL})
    with committed.Session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 1
