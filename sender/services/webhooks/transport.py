"""One signed POST to a receiver, under the SSRF rule checked at connection time.

The host is resolved here, every address checked against the rule, and the TCP connection opened to the
checked address itself (TLS still verifies the certificate for the host's name through SNI): a name that
resolved to a public address when the endpoint was saved cannot lead inside later (DNS rebinding).
Redirects are not followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

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


def post(url: str, body: bytes, headers: dict[str, str], settings: OutgoingSettings) -> Answer:
    """POST `body` to `url` (https only), connecting to an address the SSRF rule allows; never raises."""
    if urlsplit(url).scheme != "https":
        return Answer(error=OutboundError.NOT_HTTPS)
    rule = ssrf.rule(settings.allow_private)
    try:
        target = ssrf.pinned(url, rule, timeout=settings.timeout_seconds, ca_file=settings.ca_file)
    except ValueError:
        return Answer(error=OutboundError.MALFORMED)
    except ssrf.Refused as refused:
        return Answer(error=refused.code)
    pool = target.pool
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
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
