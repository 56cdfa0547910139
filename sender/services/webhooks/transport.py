"""One signed POST to a receiver, under the SSRF rule checked at connection time.

The host is resolved here, every address checked against the rule, and the TCP connection opened to the
checked address itself (TLS still verifies the certificate for the host's name through SNI): a name that
resolved to a public address when the endpoint was saved cannot lead inside later (DNS rebinding).
Redirects are not followed.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from sender.config_outgoing import OutgoingSettings
from sender.enums import OutboundError
from sender.services import ssrf


@dataclass(frozen=True)
class Answer:
    """What came back: the HTTP status, or a short error code when no answer came."""

    status: int | None = None
    error: OutboundError | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer: the receiver has the event."""
        return self.error is None


def _context(settings: OutgoingSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.ca_file:
        # Trusted besides the system's CAs (a receiver with a private CA).
        context.load_verify_locations(cafile=settings.ca_file)
    return context


def post(url: str, body: bytes, headers: dict[str, str], settings: OutgoingSettings) -> Answer:
    """POST `body` to `url` (https only), connecting to an address the SSRF rule allows; never raises."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host:
        return Answer(error=OutboundError.NOT_HTTPS)
    try:
        port = parts.port or 443
        address = ssrf.checked_address(host, port, ssrf.rule(settings.allow_private))
    except ValueError:
        return Answer(error=OutboundError.MALFORMED)
    except ssrf.Refused as refused:
        return Answer(error=refused.code)
    pool = urllib3.HTTPSConnectionPool(
        str(address),
        port,
        server_hostname=host,
        ssl_context=_context(settings),
        timeout=urllib3.Timeout(connect=settings.timeout_seconds, read=settings.timeout_seconds),
        retries=False,
        maxsize=1,
    )
    netloc = host if port == 443 else f"{host}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers={**headers, "Host": netloc}, redirect=False, retries=False
        )
        if 200 <= response.status < 300:
            return Answer(status=response.status)
        return Answer(status=response.status, error=OutboundError.HTTP_STATUS)
    except (ConnectTimeoutError, ReadTimeoutError):
        return Answer(error=OutboundError.TIMEOUT)
    except SSLError:
        return Answer(error=OutboundError.TLS)
    except NewConnectionError:
        return Answer(error=OutboundError.CONNECTION)
    except (HTTPError, OSError):
        return Answer(error=OutboundError.NO_ANSWER)
    finally:
        pool.close()
