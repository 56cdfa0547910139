"""What a recipient does in a real browser: headless Chromium (Debian package) driven by Playwright.

The messages come from a real campaign sent by `python worker.py --burst` to the SMTP test server; the
pages are served by the app on a local port.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import inspect, select, text
from werkzeug.serving import make_server

from sender.models import Contact, ListMember, Suppression
from sender.services.consent import gate
from sender.web.access_log import RedactingRequestHandler
from tests.campaign_helpers import grant
from tests.e2e.conftest import Stack
from tests.factories import ContactFactory, ListFactory, PurposeFactory, WordingFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture
def site(stack: Stack) -> Iterator[str]:
    """The app served on a free local port, in a thread; yields its base URL."""
    # The request handler of `sender serve`, which keeps link tokens out of the access log.
    server = make_server(
        "127.0.0.1", 0, stack.client.application, threaded=True, request_handler=RedactingRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def page(site: str) -> Iterator[object]:
    """A fresh headless Chromium page."""
    if not CHROMIUM.exists():
        pytest.fail("the Debian package chromium is required for the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(accept_downloads=True, locale="fr-FR")
        yield context.new_page()
        context.close()
        browser.close()


def _link(stack: Stack, recipient: str, prefix: str) -> str:
    """The path of the first link under `prefix` in the last message received by `recipient`."""
    mine = [m for m in stack.mail.messages if recipient in m.rcpt_tos]
    assert mine, f"nothing received by {recipient}"
    body = mine[-1].message().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(rf"https://sender\.test({re.escape(prefix)}\S+)", body)
    assert found, body
    return urlsplit(found.group(0)).path


def test_portal_from_a_received_message_to_erasure(stack: Stack, site: str, page) -> None:  # type: ignore[no-untyped-def]
    news = PurposeFactory(slug="news", name="Lettre d'information")
    offers = PurposeFactory(slug="offers", name="Offres partenaires")
    WordingFactory(purpose=news, text="Oui, la lettre mensuelle.")
    WordingFactory(purpose=offers, text="Oui, les offres.")
    jeanne = ContactFactory(email="jeanne.dupont@example.org", phone="+33698765432",
                            first_name="Jeannette", last_name="Dupontel")  # fmt: skip
    grant(stack.session, jeanne, news)
    grant(stack.session, jeanne, offers)
    members = ListFactory()
    stack.session.add(ListMember(list_id=members.id, contact_id=jeanne.id))
    stack.session.commit()
    email_hash = jeanne.email_hash
    created = stack.api("POST", "/campaigns", {
        "name": "December", "purpose": "news", "lists": [members.id], "subject": "News",
        "body_text": "Hello {{ contact.first_name }}", "body_html": "<p>Hello {{ contact.first_name }}</p>",
    })  # fmt: skip
    assert created.status_code == 201, created.get_json()
    stack.api("POST", f"/campaigns/{created.get_json()['id']}/send")
    stack.worker()

    # From the received message's link to the portal, three times: the footer link works until it expires.
    footer = site + _link(stack, "jeanne.dupont@example.org", "/p/")
    for _ in range(3):
        page.goto(footer)
        page.get_by_role("button", name="Ouvrir mon espace").click()
        assert page.get_by_text("jeanne.dupont@example.org").first.is_visible()
        assert page.get_by_text("Jeannette").first.is_visible()

    # Withdraw one purpose.
    page.get_by_role("button", name="Offres partenaires, e-mail").click()
    page.get_by_text("votre accord est retiré").wait_for()
    stack.session.expire_all()
    assert gate.check(stack.session, jeanne.id, offers.id, "email").reason == "withdrawn"
    assert gate.check(stack.session, jeanne.id, news.id, "email").eligible
    stack.session.commit()

    # Export JSON.
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger (JSON)").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["personal_data"]["email"] == "jeanne.dupont@example.org"
    assert {c["purpose"] for c in exported["consents"]} == {"news", "offers"}

    # Erase: nothing happens until she confirms with the link mailed to her.
    page.get_by_label("J'ai compris : mes données seront effacées définitivement.").check()
    page.get_by_role("button", name="Effacer mes données").click()
    page.get_by_text("Rien n'est encore effacé").wait_for()
    stack.session.expire_all()
    assert stack.session.get(Contact, jeanne.id).status == "active"  # type: ignore[union-attr]
    stack.session.commit()
    stack.worker("--queues", "default")
    page.goto(site + _link(stack, "jeanne.dupont@example.org", "/erase/"))
    page.get_by_role("button", name="Oui, effacer mes données").click()
    page.get_by_text("Vos données sont effacées").wait_for()

    # The notice of erasure reached her before her address was forgotten.
    assert any("jeanne.dupont@example.org" in m.rcpt_tos for m in stack.mail.messages[2:])
    stack.session.expire_all()
    needles = ("jeanne.dupont", "698765432", "Jeannette", "Dupontel")
    bind = stack.session.get_bind()
    for table in inspect(bind).get_table_names():
        for row in stack.session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
            assert not any(n in str(v) for v in row if v is not None for n in needles), table
    redis = stack.runtime.redis
    for key in redis.scan_iter():
        blob = key + (redis.dump(key) or b"")
        assert not any(n.encode() in blob for n in needles), key
    erased = stack.session.get(Contact, jeanne.id)
    assert erased is not None and erased.status == "erased" and erased.email is None
    kept = stack.session.scalars(select(Suppression.reason).where(Suppression.address_hash == email_hash))
    assert list(kept) == ["erasure"]
    stack.session.commit()
    again = stack.api("POST", "/contacts", {"email": "jeanne.dupont@example.org", "first_name": "Jeanne"})
    assert again.status_code == 409


def test_sign_up_then_confirm_from_the_received_email(stack: Stack, site: str, page) -> None:  # type: ignore[no-untyped-def]
    news = PurposeFactory(slug="news", name="Lettre d'information")
    WordingFactory(purpose=news, text="Oui, envoyez-moi la lettre mensuelle.")
    stack.session.commit()

    page.goto(site + "/signup")
    page.get_by_label("Votre adresse e-mail").fill("lou@example.org")
    box = page.get_by_label("Oui, envoyez-moi la lettre mensuelle.")
    assert not box.is_checked()
    box.check()
    page.get_by_role("button", name="M'inscrire").click()
    page.get_by_text("Encore une étape").wait_for()
    contact = stack.session.scalar(select(Contact).where(Contact.email == "lou@example.org"))
    assert contact is not None and contact.status == "pending"
    stack.session.commit()

    stack.worker()
    confirmation = [m for m in stack.mail.messages if "lou@example.org" in m.rcpt_tos][-1].message()
    assert confirmation["List-Unsubscribe"] is None
    page.goto(site + _link(stack, "lou@example.org", "/signup/confirm/"))
    page.get_by_role("button", name="Oui, je confirme").click()
    page.get_by_text("Inscription confirmée").first.wait_for()

    stack.session.expire_all()
    contact = stack.session.scalar(select(Contact).where(Contact.email == "lou@example.org"))
    assert contact is not None and contact.status == "active"
    assert gate.check(stack.session, contact.id, news.id, "email").eligible
    stack.session.commit()
