"""Issue 16: a deployment set up in the browser only. `sender serve` starts as the README says, with no ORG_*,
EMAIL_FROM, DPO_CONTACT or SMS sender name in its environment (only the SMTP relay and Twilio account, which
have no page); the first admin and the organisation are set up in Chromium, then a person gets an access link
and a sign-up confirmation, erases their data from the portal, and an SMS campaign reaches the Twilio
stand-in, each naming the organisation as it was saved on its page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from sender.db import make_engine
from sender.models import ContactList, ListMember
from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.campaign_helpers import grant
from tests.factories import TEST_HASH_KEY, ContactFactory, PurposeFactory, WordingFactory
from tests.sms_fixtures import ALL_WEEK, SERVICE_SID, STOP_TEXT, zone_at_local_hour
from tests.smtp_server import SmtpTestServer
from tests.test_cli import _free_port, _stop_if_running, _wait_for
from tests.twilio_server import TwilioTestServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PASSWORD = "correct horse battery staple"
ORGANISATION = {
    "Legal name": "Stored SAS",
    "Postal address": "2 rue Stockée, 69002 Lyon",
    "Contact email": "hello@stored.example",
    "Data protection officer (email or address)": "dpo@stored.example",
    "Sender address (From:)": "news@stored.example",
}
FROM = "Stored SAS <news@stored.example>"
# What a deployment sets but no page offers; the organisation's identity is not among them.
PLUMBING = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEYS",
    "HASH_KEY",
    "SMTP_URL",
    "INSTANCE_PATH",
    "PUBLIC_BASE_URL",
)
IDENTITY = ("ORG_", "EMAIL_FROM", "DPO_CONTACT", "SMS_", "TWILIO_", "TEST_")


@dataclass
class Deployment:
    """`sender serve` in an empty folder, its relay and its Twilio stand-in."""

    url: str
    folder: Path
    mail: SmtpTestServer
    twilio: TwilioTestServer


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is required for browser tests")
    with SmtpTestServer() as mail, TwilioTestServer(latency=0) as twilio:
        env = {k: v for k, v in os.environ.items() if k not in PLUMBING and not k.startswith(IDENTITY)}
        env.update(
            PYTHONUNBUFFERED="1",
            SMTP_URL=mail.url,
            **twilio.env(),
            TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID,
            # The STOP instruction names the short code of the Twilio account: it lives with the account.
            SMS_STOP_TEXT=STOP_TEXT,
            # The test arranges its contacts with the suite's keyed-hash key.
            HASH_KEY=TEST_HASH_KEY,
            # French SMS are held on Sundays and public holidays by default: every day open, so that the
            # journey does not depend on the day it runs (Paul's zone already puts it at noon).
            **ALL_WEEK,
        )
        port = _free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "sender"), "serve", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for(lambda: "Press Ctrl-C to stop." in log.read_text(), proc, log, "printed its banner")
            yield Deployment(f"http://127.0.0.1:{port}", tmp_path, mail, twilio)
        finally:
            _stop_if_running(proc)


@pytest.fixture
def page(deployment: Deployment) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=deployment.url, locale="en-GB")
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def _arrange(folder: Path) -> int:
    """The register and the people (data, not settings): a newsletter, Camille by email, Paul by SMS."""
    engine = make_engine(f"sqlite:///{folder / 'instance' / 'sender.db'}", pool=False)
    session = Session(engine)
    factories.bind(session)
    purpose = PurposeFactory(slug="newsletter", name="Monthly newsletter")
    WordingFactory(purpose=purpose, text="Yes, send me the monthly newsletter.")
    camille = ContactFactory(email="camille@example.org", first_name="Camille", locale="en")
    paul = ContactFactory(email=None, phone="+33612345678", timezone=zone_at_local_hour(12), country="FR")
    grant(session, camille, purpose)
    grant(session, paul, purpose, channel="sms")
    customers = ContactList(name="SMS customers", description="")
    session.add(customers)
    session.flush()
    session.add(ListMember(list_id=customers.id, contact_id=paul.id))
    session.commit()
    list_id = customers.id
    # Nothing of this test may hold a transaction open while serve's processes write.
    session.close()
    engine.dispose()
    return list_id


def _link(body: str, prefix: str) -> str:
    found = re.search(rf"http://127\.0\.0\.1:\d+({re.escape(prefix)}\S+)", body)
    assert found, body
    return found.group(1)


def test_set_up_in_the_browser_then_every_journey_names_the_organisation(
    deployment: Deployment, page: Any
) -> None:
    # First run: the setup page, then the organisation page it leads to.
    page.goto("/")
    page.get_by_label("Email").fill("admin@stored.example")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the administrator").click()
    page.wait_for_url("**/admin/organisation")
    for label, value in ORGANISATION.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Default language").select_option("en")
    page.get_by_label("Time zone", exact=True).select_option("Europe/Paris")
    # The page holds other forms with their own Save (DKIM): this one is the organisation's.
    page.locator("form", has=page.get_by_label("Legal name", exact=True)).get_by_role(
        "button", name="Save"
    ).click()
    expect(page.get_by_label("Legal name", exact=True)).to_have_value("Stored SAS")
    list_id = _arrange(deployment.folder)
    mail = deployment.mail

    # "Access my data": the link arrives from the saved sender, and the page's footer names the controller.
    page.goto("/access")
    expect(page.locator("footer")).to_contain_text("Stored SAS")
    expect(page.locator("footer")).to_contain_text("dpo@stored.example")
    page.get_by_label("Your email address").fill("camille@example.org")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    access = mail.wait_for(1, timeout=60)[0].message()
    assert (access["To"], access["From"]) == ("camille@example.org", FROM)

    # Sign-up: the confirmation arrives from the same sender.
    page.goto("/signup")
    page.get_by_label("Your email address").fill("lou@example.org")
    page.get_by_label("Yes, send me the monthly newsletter.").check()
    page.get_by_role("button", name="Subscribe").click()
    confirmation = mail.wait_for(2, timeout=60)[1].message()
    assert (confirmation["To"], confirmation["From"]) == ("lou@example.org", FROM)
    assert "/signup/confirm/" in confirmation.get_body(("plain",)).get_content()

    # Erasure from the portal reached through the emailed link; its confirmation goes out after the commit.
    page.goto(_link(access.get_body(("plain",)).get_content(), "/p/"))
    page.get_by_role("button", name="Open my privacy space").click()
    page.get_by_label("I understand: my data will be erased for good.").check()
    page.get_by_role("button", name="Erase my data").click()
    # Nothing is erased until confirmed from the person's own address: the link comes from the saved sender.
    expect(page.get_by_role("heading", name="Confirm the erasure")).to_be_visible()
    asked = mail.wait_for(3, timeout=60)[2].message()
    assert (asked["To"], asked["From"]) == ("camille@example.org", FROM)
    page.goto(_link(asked.get_body(("plain",)).get_content(), "/erase/"))
    page.get_by_role("button", name="Yes, erase my data").click()
    expect(page.get_by_role("heading", name="Your data is erased")).to_be_visible()
    erased = mail.wait_for(4, timeout=60)[3].message()
    assert (erased["To"], erased["From"]) == ("camille@example.org", FROM)

    # An SMS campaign, signed with the legal name saved on the page (no SMS_SENDER_NAME, no ORG_NAME).
    page.goto("/admin/campaigns/new")
    page.get_by_label("Channel").select_option("sms")
    page.get_by_label("Name (internal)").fill("Spring offers")
    page.get_by_label("Purpose").select_option("newsletter")
    page.get_by_label("Lists").select_option(str(list_id))
    page.get_by_label("Text body").fill("Our spring letter is out.")
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_url(re.compile(r".*/admin/campaigns/\d+$"))
    page.get_by_role("link", name="Send now…").click()
    page.get_by_role("button", name="Send to 1 now (SMS)").click()
    page.wait_for_selector("text=Sending started.")
    deadline = time.monotonic() + 60
    while not deployment.twilio.accepted() and time.monotonic() < deadline:
        time.sleep(0.2)
    (sms,) = deployment.twilio.accepted()
    assert sms.to == "+33612345678"
    assert sms.body == f"Our spring letter is out.\nStored SAS\n{STOP_TEXT}"
