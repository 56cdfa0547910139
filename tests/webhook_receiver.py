"""A webhook receiver for the tests: https with a certificate from a throwaway CA (trustme), scripted answers.

It records every request (headers and body) and answers with the next status of its script (200 once the
script is spent). `ca_file` is the CA's PEM, given to sender through WEBHOOKS_CA_FILE.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass(frozen=True)
class Hit:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner = self.server.owner
        status = owner.next_status()
        owner.record(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the hits."""


class _Server(ThreadingHTTPServer):
    owner: WebhookReceiver


class WebhookReceiver:
    """An https server on 127.0.0.1 whose certificate names localhost and 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self._ca = trustme.CA()
        self.ca_file = directory / "webhook-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._lock = threading.Lock()
        self._script: list[int] = []
        self._hits: list[Hit] = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, host: str = "127.0.0.1", path: str = "/hooks") -> str:
        """The receiver's https URL under `host` (localhost or 127.0.0.1)."""
        return f"https://{host}:{self.port}{path}"

    def script(self, statuses: Iterable[int]) -> None:
        """Answer the next requests with these statuses, then 200."""
        with self._lock:
            self._script = list(statuses)

    def next_status(self) -> int:
        """The status for the request being answered."""
        with self._lock:
            return self._script.pop(0) if self._script else 200

    def record(self, hit: Hit) -> None:
        """Keep one request."""
        with self._lock:
            self._hits.append(hit)

    @property
    def hits(self) -> list[Hit]:
        """Every request so far."""
        with self._lock:
            return list(self._hits)
