"""The checks before sending (issue 19, item 6): one service, each item shown on the campaign page."""

from __future__ import annotations

import http.server
import ipaddress
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.enums import CheckOutcome
from sender.models import Campaign
from sender.runtime import Runtime
from sender.services.composer import checks, links, spam
from sender.services.messages import preview
from tests.admin.conftest import post
from tests.factories import CampaignFactory

ClientAs = Callable[[str], FlaskClient]


class _Pages(http.server.BaseHTTPRequestHandler):
    """/ok answers 200, anything else 404; every request is counted."""

    seen: list[str] = []

    def do_HEAD(self) -> None:
        self.seen.append(self.path)
        self.send_response(200 if self.path.split("?")[0] == "/ok" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def pages() -> Iterator[str]:
    """A local web server's base URL."""
    _Pages.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(runtime: Runtime, db_session: Session, campaign: Campaign, **kwargs: Any) -> dict[str, checks.Check]:
    message = preview.message(runtime, db_session, campaign, preview.sample_contact())
    return {check.key: check for check in checks.run(runtime.settings, campaign, message, **kwargs)}


def test_a_good_campaign_passes_every_local_check(runtime: Runtime, db_session: Session) -> None:
    found = _run(runtime, db_session, CampaignFactory())
    assert [found[k].outcome for k in ("plain_text", "alt_text", "subject", "size")] == [
        CheckOutcome.PASS
    ] * 4
    assert found["links"].outcome is CheckOutcome.SKIPPED


def test_each_problem_is_its_own_item(runtime: Runtime, db_session: Session) -> None:
    campaign = CampaignFactory(
        subject="A" * 79,
        body_text="",
        body_html='<p>Hi</p><img src="https://example.org/x.png">' + "<p>" + "word " * 21000 + "</p>",
    )
    found = _run(runtime, db_session, campaign)
    assert found["plain_text"].outcome is CheckOutcome.WARN
    assert found["alt_text"].outcome is CheckOutcome.FAIL
    assert found["alt_text"].detail == "1 image(s) without alt text, first: https://example.org/x.png"
    assert found["subject"].outcome is CheckOutcome.WARN
    assert found["subject"].detail == "79 characters; over 78, inboxes cut it"
    assert found["size"].outcome is CheckOutcome.FAIL
    assert "Gmail clips messages over 102 KB" in found["size"].detail


def test_the_size_limit_is_gmails_102_kb_of_html(runtime: Runtime, db_session: Session) -> None:
    campaign = CampaignFactory(body_html="<p>x</p>")
    message = preview.message(runtime, db_session, campaign, preview.sample_contact())
    html = preview.split(message).html
    room = checks.GMAIL_CLIP_BYTES - len(html.encode())
    just_under = CampaignFactory(body_html="<p>" + "x" * (room - 2) + "</p>")
    assert _run(runtime, db_session, just_under)["size"].outcome is CheckOutcome.PASS
    just_over = CampaignFactory(body_html="<p>" + "x" * (room + 50) + "</p>")
    assert _run(runtime, db_session, just_over)["size"].outcome is CheckOutcome.FAIL


def test_broken_links_are_found_with_a_head_request(
    runtime: Runtime, db_session: Session, pages: str
) -> None:
    campaign = CampaignFactory(body_html=f'<a href="{pages}/ok">ok</a> <a href="{pages}/gone">gone</a>')
    found = _run(runtime, db_session, campaign, network=True, allowed=lambda address: address.is_loopback)
    assert found["links"].outcome is CheckOutcome.FAIL
    assert found["links"].detail == f"1 broken: {pages}/gone (the server answers 404)"
    # The system's own exits (this server) are not fetched.
    assert sorted(_Pages.seen) == ["/gone", "/ok"]


def test_the_link_check_is_bounded(runtime: Runtime, db_session: Session, pages: str) -> None:
    limit = runtime.settings.composer.link_check_max_links
    body = "".join(f'<a href="{pages}/ok?n={n}">{n}</a>' for n in range(limit + 3))
    found = _run(
        runtime, db_session, CampaignFactory(body_html=body), network=True, allowed=lambda a: a.is_loopback
    )
    assert found["links"].outcome is CheckOutcome.WARN
    assert found["links"].detail == f"{limit} answer; 3 more not checked"
    assert len(_Pages.seen) == limit


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/ok",
        "http://localhost:{port}/ok",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/ok",
        "http://[fe80::1]/",
    ],
)
def test_the_link_check_never_requests_a_private_address(url: str, pages: str) -> None:
    port = pages.rsplit(":", 1)[1]
    result = links.head(url.format(port=port), timeout=1)
    assert (result.ok, result.reason) == (False, "refused: the host is not a public address")
    assert _Pages.seen == []


def test_the_ssrf_rule_allows_public_addresses_only() -> None:
    assert links.public_only(ipaddress.ip_address("93.184.216.34"))
    for private in (
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "0.0.0.0",  # noqa: S104  (an address to refuse, not one to bind)
    ):
        assert not links.public_only(ipaddress.ip_address(private)), private


def test_spamassassin_is_optional(runtime: Runtime, db_session: Session) -> None:
    found = _run(runtime, db_session, CampaignFactory(), network=True)
    if spam.command() is None:
        assert (found["spam"].outcome, found["spam"].detail) == (
            CheckOutcome.SKIPPED,
            "not available on this host",
        )
    else:
        assert found["spam"].outcome in (CheckOutcome.PASS, CheckOutcome.WARN, CheckOutcome.FAIL)
        assert found["spam"].detail.startswith("score ")


def test_the_campaign_page_lists_the_checks(client_as: ClientAs, db_session: Session, pages: str) -> None:
    campaign = CampaignFactory(
        subject="B" * 80, body_html=f'<img src="{pages}/x.png"><a href="{pages}/ok">x</a>'
    )
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{campaign.id}"
    body = client.get(page).get_data(as_text=True)
    items = {key: outcome for outcome, key in re.findall(r'<li class="check (\w+)" data-check="(\w+)"', body)}
    assert items == {
        "plain_text": "pass",
        "alt_text": "fail",
        "subject": "warn",
        "size": "pass",
        "links": "skipped",
        "spam": "skipped",
    }
    # Asked for: the links are checked under the SSRF rule (this local server is refused, never requested).
    checked = post(client, f"{page}/checks", token_page=page)
    assert checked.status_code == 200
    shown = checked.get_data(as_text=True)
    assert re.search(
        r'<li class="check fail" data-check="links">.*refused: the host is not a public address', shown
    )
    assert _Pages.seen == []
