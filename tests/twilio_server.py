"""A local stand-in of Twilio's Messages API, over real HTTP, for the real `twilio` SDK to talk to.

It implements `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth, answers with
Twilio-shaped JSON after a configurable latency (50 ms by default, like the real API), records what it
received, and answers scripted errors for chosen destination numbers:

    with TwilioTestServer() as twilio:
        twilio.fail("+33612345678", 21610)          # every send to this number
        twilio.fail("+33612345679", 20429, times=2)  # the next two sends, then success

It also builds (and can POST) status callbacks and inbound messages signed like Twilio signs them, with the
SDK's RequestValidator. Run it alone for the benchmark: `python tests/twilio_server.py --port 8765`;
`GET /_stats` then answers the count of messages and their arrival times per sender.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "stand-in-auth-token-0123456789ab"

# Twilio's REST error answers: code -> (HTTP status, message); like Twilio's, some quote the number.
ERRORS: dict[int, tuple[int, str]] = {
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    20429: (429, "Too Many Requests"),
    30001: (400, "Queue overflow"),
}


@dataclass(frozen=True)
class ReceivedSms:
    """One create-message request as the stand-in saw it."""

    sid: str
    params: dict[str, str]
    at: float
    answered: int  # HTTP status of the answer

    @property
    def to(self) -> str:
        """Destination number."""
        return self.params.get("To", "")

    @property
    def body(self) -> str:
        """Message text."""
        return self.params.get("Body", "")

    @property
    def accepted(self) -> bool:
        """Whether the stand-in created the message (2xx)."""
        return 200 <= self.answered < 300


@dataclass
class _Failure:
    code: int
    times: int | None  # None: for ever
    after: int = 0  # sends let through before the failures start


@dataclass
class _State:
    latency: float
    received: list[ReceivedSms] = field(default_factory=list)
    failures: dict[str, _Failure] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    max_in_flight: int = 0


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `received`, not stderr."""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """`/_stats`: counts and arrival times per sender, for the benchmark."""
        if self.path != "/_stats":
            self._answer(404, {"code": 20404, "message": "not found", "status": 404})
            return
        state = self.server.state
        with state.lock:
            by_sender: dict[str, list[float]] = {}
            for item in state.received:
                if item.accepted:
                    sender = item.params.get("MessagingServiceSid") or item.params.get("From", "")
                    by_sender.setdefault(sender, []).append(item.at)
            self._answer(200, {"accepted": sum(len(v) for v in by_sender.values()), "by_sender": by_sender})

    def do_DELETE(self) -> None:
        """`/_stats`: forget everything received (between benchmark rounds)."""
        with self.server.state.lock:
            self.server.state.received.clear()
        self._answer(204, {})

    def do_POST(self) -> None:
        """Create a message (the only Twilio resource the stand-in knows)."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        parts = self.path.strip("/").split("/")
        if (
            len(parts) != 4
            or parts[0] != "2010-04-01"
            or parts[1] != "Accounts"
            or parts[3] != "Messages.json"
        ):
            self._answer(
                404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
            )
            return
        account = parts[2]
        if not self._authorised(account):
            self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return
        params = {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}
        state = self.server.state
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if state.latency:
                time.sleep(state.latency)
            self._create(account, params)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _create(self, account: str, params: dict[str, str]) -> None:
        state = self.server.state
        missing = [name for name in ("To",) if not params.get(name)]
        if not params.get("From") and not params.get("MessagingServiceSid"):
            missing.append("From")
        if missing or not params.get("Body"):
            self._answer(
                400, {"code": 21604, "message": f"A required parameter is missing: {missing}", "status": 400}
            )
            return
        sid = _sid("SM")
        code = self.server.take_failure(params["To"])
        status = ERRORS[code][0] if code else 201
        with state.lock:
            state.received.append(ReceivedSms(sid, params, time.monotonic(), status))
        if code:
            message = ERRORS[code][1].format(to=params["To"])
            more = f"https://www.twilio.com/docs/errors/{code}"
            self._answer(status, {"code": code, "message": message, "more_info": more, "status": status})
            return
        self._answer(201, self._message(account, sid, params))

    def _authorised(self, account: str) -> bool:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user == account == self.server.account_sid and password == self.server.auth_token

    @staticmethod
    def _message(account: str, sid: str, params: dict[str, str]) -> dict[str, Any]:
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        body = params["Body"]
        return {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            # With a Messaging Service Twilio answers "accepted"; with a From number, "queued".
            "status": "accepted" if params.get("MessagingServiceSid") else "queued",
            "sid": sid,
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
            "to": params["To"],
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Workers open tens of connections at once; the default backlog of 5 would refuse some.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], state: _State, account_sid: str, auth_token: str) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.account_sid = account_sid
        self.auth_token = auth_token

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is not an error of the stand-in."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def take_failure(self, to: str) -> int | None:
        with self.state.lock:
            failure = self.state.failures.get(to)
            if failure is None:
                return None
            if failure.after > 0:
                failure.after -= 1
                return None
            if failure.times is not None:
                failure.times -= 1
                if failure.times <= 0:
                    del self.state.failures[to]
            return failure.code


class TwilioTestServer:
    """The stand-in on a free local port, in a background thread; use as a context manager."""

    def __init__(
        self,
        latency: float = 0.05,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self._state = _State(latency)
        self._server = _Server((host, port), self._state, account_sid, auth_token)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="twilio-stand-in",
        )
        self.validator = RequestValidator(auth_token)

    @property
    def url(self) -> str:
        """Base URL to give as TWILIO_API_BASE_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def latency(self) -> float:
        """Seconds each create-message request waits before its answer."""
        return self._state.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._state.latency = value

    @property
    def received(self) -> list[ReceivedSms]:
        """A copy of every create-message request so far, in arrival order."""
        with self._state.lock:
            return list(self._state.received)

    def accepted(self) -> list[ReceivedSms]:
        """The messages the stand-in created."""
        return [item for item in self.received if item.accepted]

    @property
    def max_in_flight(self) -> int:
        """The most create-message requests the stand-in was answering at the same time."""
        return self._state.max_in_flight

    def fail(self, to: str, code: int, times: int | None = None, after: int = 0) -> None:
        """Answer Twilio error `code` to sends to `to` (the next `times` ones, or all), once `after`
        sends have gone through."""
        if code not in ERRORS:
            raise ValueError(f"the stand-in does not know error {code}")
        with self._state.lock:
            self._state.failures[to] = _Failure(code, times, after)

    def env(self) -> dict[str, str]:
        """Settings that point sender at this stand-in."""
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_BASE_URL": self.url,
        }

    def signed(self, url: str, params: dict[str, str]) -> dict[str, str]:
        """Headers Twilio would send with a webhook POST of `params` to `url`."""
        return {"X-Twilio-Signature": self.validator.compute_signature(url, params)}

    def status_callback(
        self, sid: str, status: str, *, to: str = "", sender: str = "", error_code: int | None = None
    ) -> dict[str, str]:
        """The form parameters of a status callback for message `sid`."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": to,
            "From": sender,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def inbound(self, sender: str, to: str, body: str) -> dict[str, str]:
        """The form parameters of an incoming message from `sender` to our number `to`."""
        sid = _sid("SM")
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }

    def post(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """POST a signed webhook to a real URL, as Twilio does; return the status and body."""
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **self.signed(url, params)},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def __enter__(self) -> TwilioTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def main() -> None:
    """Command line: `python tests/twilio_server.py --port 8765 --latency-ms 50`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    with TwilioTestServer(latency=args.latency_ms / 1000, port=args.port) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
