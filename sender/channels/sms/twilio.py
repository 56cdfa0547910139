"""Sending SMS with the official Twilio SDK, and what Twilio's answers mean for the delivery.

One client per worker process: its requests session keeps a pool of connections sized for the calls a
batch has in flight. TWILIO_API_BASE_URL sends the SDK's calls to another host (a regional edge, a proxy,
or the local stand-in the tests use) through the SDK's own `http_client` hook.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from requests import exceptions as http_errors
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from sender.channels.base import SendResult
from sender.config_sms import TWILIO_API, SmsSettings

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient": the person replied STOP (R64)
INVALID_NUMBER = frozenset({21211, 21614, 21612, 21408})  # not a number, not a mobile, not reachable
# Too many requests, queue overflow, 10-hour queue limit, account-wide MPS: slow down and try again (R67).
BACK_OFF = frozenset({20429, 30001, 21611, 63017})
BACKOFF_DELAYS = (0.25, 0.5, 1.0, 2.0)
TIMEOUT = 15.0


@dataclass(frozen=True)
class OutgoingSms:
    """The SMS of one delivery: one text, or two when the mentions needed an SMS of their own (R21)."""

    to: str
    parts: tuple[str, ...]
    validity_period: int | None = None  # seconds Twilio may keep it queued (R15)
    status_callback: str | None = None


@dataclass(frozen=True)
class SmsResult:
    """Twilio's answer for one delivery, with what it means for suppression."""

    result: SendResult
    opted_out: bool = False
    status: str | None = None  # Twilio's initial status (queued / accepted / scheduled)


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
    """A Twilio client for this process, pointed at TWILIO_API_BASE_URL."""
    http_client = RoutedHttpClient(sms.api_base_url, pool_size=sms.concurrency)
    return Client(sms.account_sid, sms.auth_token, http_client=http_client)


class TwilioTransport:
    """Creates messages through the SDK; thread-safe, so a batch can keep several calls in flight."""

    def __init__(
        self,
        sms: SmsSettings,
        client: Client | None = None,
        throttle: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sms = sms
        self.client = client or make_client(sms)
        self._messages = self.client.api.v2010.accounts(sms.account_sid).messages
        self._throttle = throttle
        self._sleep = sleep

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
        for delay in (*BACKOFF_DELAYS, None):
            if self._throttle is not None:
                self._throttle()
            try:
                return self._messages.create(**kwargs)
            except TwilioRestException as exc:
                if delay is None or not (exc.status == 429 or exc.code in BACK_OFF):
                    raise
                log.info("twilio asked to slow down (%s); waiting %.2fs", exc.code, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def send(self, message: OutgoingSms) -> SmsResult:
        """Create the delivery's message(s) and report the outcome; never raise for Twilio's answers."""
        sids: list[str] = []
        status = None
        for part in message.parts:
            try:
                created = self._create(message.to, part, message)
            except TwilioRestException as exc:
                return self._failure(exc, sent_parts=len(sids))
            except http_errors.ConnectionError as exc:
                # Nothing reached Twilio (refused, DNS): a plain retry later is safe.
                if not sids:
                    return SmsResult(
                        SendResult("temporary", detail=f"connection failed: {type(exc).__name__}")
                    )
                return SmsResult(_unknown(sids, type(exc).__name__))
            except http_errors.RequestException as exc:
                # The request may have been created before the answer was lost: never resend it blindly.
                return SmsResult(_unknown(sids, type(exc).__name__))
            sids.append(created.sid)
            status = status or created.status
        return SmsResult(SendResult("sent", provider_id=",".join(sids)), status=status)

    def send_many(self, messages: Sequence[OutgoingSms]) -> list[SmsResult]:
        """Send several deliveries with up to SMS_CONCURRENCY calls in flight; results in order."""
        if len(messages) <= 1:
            return [self.send(m) for m in messages]
        with ThreadPoolExecutor(max_workers=min(self.sms.concurrency, len(messages))) as pool:
            return list(pool.map(self.send, messages))

    @staticmethod
    def _failure(exc: TwilioRestException, sent_parts: int) -> SmsResult:
        detail = f"twilio {exc.code or exc.status}: {exc.msg}"[:300]
        if sent_parts:
            # The first SMS left; the mentions' SMS did not: never resend the first one blindly.
            return SmsResult(SendResult("permanent", exc.code, detail, outcome_unknown=True))
        if exc.code == OPTED_OUT:
            return SmsResult(SendResult("permanent", exc.code, detail), opted_out=True)
        if exc.code in INVALID_NUMBER:
            return SmsResult(SendResult("permanent", exc.code, detail, address_invalid=True))
        if exc.status == 429 or exc.code in BACK_OFF or exc.status >= 500:
            return SmsResult(SendResult("temporary", exc.code, detail))
        return SmsResult(SendResult("permanent", exc.code, detail))


def _unknown(sids: list[str], what: str) -> SendResult:
    return SendResult(
        "permanent", detail=f"answer lost: {what}", provider_id=",".join(sids) or None, outcome_unknown=True
    )
