"""Sending SMS with the official Twilio SDK, and what Twilio's answers are.

One client per worker process: its requests session keeps a pool of connections sized for the calls the
send path keeps in flight (SMS_CONCURRENCY), shared by every sending thread. TWILIO_API_BASE_URL sends the
SDK's calls to another host (a proxy, or the local stand-in the tests use) through the SDK's own
`http_client` hook; nothing of the SDK is patched.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

# The Messages resource loads lazily on first use; importing it here loads it once in the worker, before it
# forks a process per batch job, instead of once in every job.
import twilio.rest.api.v2010.account  # noqa: F401
from requests import exceptions as http_errors
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from urllib3.exceptions import NameResolutionError, NewConnectionError

from sender.addresses import mask_phones
from sender.channels.base import SendResult
from sender.config_sms import TWILIO_API, SmsSettings

OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient": the person replied STOP (R64)
INVALID_NUMBER = frozenset({21211, 21614, 21612, 21408})  # not a number, not a mobile, not reachable
# Too many requests, queue overflow, 10-hour queue limit, account-wide MPS: slow down and try again (R67).
BACK_OFF = frozenset({20429, 30001, 21611, 63017, 429})
TIMEOUT = 15.0

_clients: dict[tuple[str, str, str], Client] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class OutgoingSms:
    """The SMS of one delivery: one text, or two when the mentions needed an SMS of their own (R21)."""

    to: str
    parts: tuple[str, ...]
    validity_period: int | None = None  # seconds Twilio may keep it queued (R15)
    status_callback: str | None = None


class RoutedHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with api.twilio.com replaced by `base_url` and a pool for `pool_size` calls."""

    def __init__(self, base_url: str, pool_size: int, timeout: float = TIMEOUT) -> None:
        super().__init__(
            pool_connections=True, timeout=timeout, logger=logging.getLogger("twilio.http_client")
        )
        self.base_url = base_url.rstrip("/")
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
        assert self.session is not None
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Send the SDK's request to the configured host."""
        if url.startswith(TWILIO_API) and self.base_url != TWILIO_API:
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def make_client(sms: SmsSettings) -> Client:
    """A Twilio client pointed at TWILIO_API_BASE_URL."""
    http_client = RoutedHttpClient(sms.api_base_url, pool_size=sms.concurrency)
    return Client(sms.account_sid, sms.auth_token, http_client=http_client)


def shared_client(sms: SmsSettings) -> Client:
    """This process's client for these credentials and host, made on first use."""
    key = (sms.account_sid, sms.auth_token, sms.api_base_url)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = make_client(sms)
        return client


class TwilioTransport:
    """Creates messages through the SDK; never raises for Twilio's answers or the network."""

    def __init__(self, sms: SmsSettings, client: Client | None = None) -> None:
        self.sms = sms
        self.client = client or make_client(sms)
        self._messages = self.client.api.v2010.accounts(sms.account_sid).messages

    def __enter__(self) -> TwilioTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _create(self, to: str, body: str, message: OutgoingSms) -> Any:
        kwargs: dict[str, Any] = {"to": to, "body": body}
        if self.sms.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.sms.messaging_service_sid
        if self.sms.from_number:
            kwargs["from_"] = self.sms.from_number
        if message.validity_period is not None:
            kwargs["validity_period"] = message.validity_period
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        return self._messages.create(**kwargs)

    def send(self, message: OutgoingSms) -> SendResult:
        """Create the delivery's message(s) and report the outcome."""
        sids: list[str] = []
        for part in message.parts:
            try:
                created = self._create(message.to, part, message)
            except TwilioRestException as exc:
                return _failure(exc, sids)
            except http_errors.RequestException as exc:
                if not sids and _never_sent(exc):
                    # Nothing reached Twilio (refused, DNS, connect timeout): a plain retry later is safe.
                    return SendResult("temporary", detail=f"connection failed: {type(exc).__name__}")
                # The message may have been created before the answer was lost: never resend it blindly.
                return _unknown(sids, type(exc).__name__)
            sids.append(created.sid)
        return SendResult("sent", provider_id=",".join(sids))


def _failure(exc: TwilioRestException, sids: list[str]) -> SendResult:
    # Twilio's messages may quote the number ("The 'To' number +336… is not valid"): it is stored and logged.
    detail = mask_phones(f"twilio: {exc.msg}")[:300]
    code = exc.code if isinstance(exc.code, int) else None
    if sids:
        # The first SMS left, the mentions' SMS did not: never resend the first one blindly.
        return SendResult("permanent", code, detail, provider_id=",".join(sids), outcome_unknown=True)
    if code in INVALID_NUMBER:
        return SendResult("permanent", code, detail, address_invalid=True)
    if exc.status == 429 or code in BACK_OFF or exc.status >= 500:
        return SendResult("temporary", code or exc.status, detail)
    return SendResult("permanent", code, detail)


def _never_sent(exc: http_errors.RequestException) -> bool:
    """Whether the request failed before any byte of it could reach Twilio."""
    if isinstance(exc, http_errors.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | NameResolutionError)


def _unknown(sids: list[str], what: str) -> SendResult:
    return SendResult(
        "permanent", detail=f"answer lost: {what}", provider_id=",".join(sids) or None, outcome_unknown=True
    )
