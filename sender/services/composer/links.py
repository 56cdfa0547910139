"""A bounded check of a message's links: HEAD requests to public addresses only, a few at a time.

The SSRF rule (services/ssrf.py): a link is fetched only when every address its host resolves to is a public
(global) one; loopback, private, link-local, reserved and multicast addresses are refused without a request.
Redirects are not followed (a 3xx answer means the link is alive), so no hop can lead inside.
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from sender.enums import OutboundError
from sender.i18n import N_
from sender.services.ssrf import IpAddress, Refused, checked_address, public_only

__all__ = ["IpAddress", "LinkResult", "check", "head", "links_of", "public_only"]
# Answers that say the page exists even though HEAD is not served (405, 501) or access is restricted.
_ALIVE_ANYWAY = frozenset({401, 403, 405, 501})


@dataclass(frozen=True)
class LinkResult:
    """One link's verdict: alive or not, and why not."""

    url: str
    ok: bool
    reason: str = ""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.lower().startswith(("http://", "https://")) and href not in self.found:
                self.found.append(href)


def links_of(html: str, skip_prefix: str = "") -> list[str]:
    """The distinct http(s) links of an HTML part, in order, without those starting with `skip_prefix`."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return [url for url in parser.found if not (skip_prefix and url.startswith(skip_prefix))]


def head(url: str, timeout: float, allowed: Callable[[IpAddress], bool] = public_only) -> LinkResult:
    """HEAD one link under the SSRF rule; never raises."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError:
        return LinkResult(url, False, N_("malformed address"))
    if not host:
        return LinkResult(url, False, N_("malformed address"))
    try:
        checked_address(host, port, allowed)
    except Refused as refused:
        if refused.code == OutboundError.UNRESOLVED:
            return LinkResult(url, False, N_("the host name does not resolve"))
        return LinkResult(url, False, N_("refused: the host is not a public address"))
    connection_type = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    connection = connection_type(host, port, timeout=timeout)
    try:
        connection.request("HEAD", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return LinkResult(url, False, N_("no answer (%(error)s)", error=type(exc).__name__))
    finally:
        connection.close()
    if status < 400 or status in _ALIVE_ANYWAY:
        return LinkResult(url, True)
    return LinkResult(url, False, N_("the server answers %(status)s", status=status))


def check(
    urls: list[str],
    *,
    timeout: float,
    concurrency: int,
    allowed: Callable[[IpAddress], bool] = public_only,
) -> list[LinkResult]:
    """HEAD each link (the caller bounds how many), `concurrency` at a time; results in the given order."""
    if not urls:
        return []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(lambda url: head(url, timeout, allowed), urls))
