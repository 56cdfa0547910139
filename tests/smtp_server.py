"""A real SMTP server for tests (aiosmtpd in a thread) that records messages and replies as scripted.

Use the `smtp_server` fixture, or `SmtpTestServer()` as a context manager:

    smtp_server.script(["421 4.3.0 try later", None, Reply("550 5.1.1 no such user", at="rcpt")])

Each entry answers one mail transaction, in order; once the script is used up every message is accepted.
An entry is None (accept with 250), a reply string (given at the end of DATA), a `Reply` (choose the
command it answers, delay it, or drop the connection instead) or a function of the `Received` message
returning any of those (applied at the end of DATA).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Reply:
    """What the server answers to one transaction, and when."""

    text: str | None = None  # None: accept
    at: Literal["mail", "rcpt", "data"] = "data"
    delay: float = 0.0  # seconds to wait before answering (or dropping)
    disconnect: bool = False  # close the connection instead of answering


@dataclass
class Received:
    """One message that reached the end of DATA, with the reply it got."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    reply: str = "250 OK"
    connection: int = 0
    mail_options: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether the server answered 250 (the message counts as delivered)."""
        return self.reply.startswith("250")

    def message(self) -> EmailMessage:
        """The raw bytes parsed with the modern email API."""
        parsed: EmailMessage = email.message_from_bytes(self.data, policy=default_policy)
        return parsed


ScriptEntry = str | Reply | Callable[[Received], str | Reply | None] | None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _CountingSMTP(SMTP):
    """aiosmtpd's protocol, numbering each connection and keeping it reachable for drop_connections()."""

    def __init__(self, owner: SmtpTestServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.number = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None  # a second call is the same connection switching to TLS
        super().connection_made(transport)
        if first:
            self.number = self.owner._connected(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.owner._disconnected(self)
        super().connection_lost(error)


class _Handler:
    def __init__(self, owner: SmtpTestServer) -> None:
        self.owner = owner

    async def handle_EHLO(
        self, server: _CountingSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.owner.pipelining:  # aiosmtpd reads commands one by one anyway; it only has to say so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def _answer(self, server: _CountingSMTP, reply: Reply) -> str | None:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.disconnect:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "421 4.4.2 connection dropped by test script"
        return reply.text

    async def handle_MAIL(
        self, server: _CountingSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        reply = self.owner._next_reply()
        session.scripted = reply  # type: ignore[attr-defined]
        if isinstance(reply, Reply) and reply.at == "mail":
            return await self._answer(server, reply) or "250 OK"
        return "250 OK"

    async def handle_RCPT(
        self, server: _CountingSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = getattr(session, "scripted", None)
        if isinstance(reply, Reply) and reply.at == "rcpt":
            text = await self._answer(server, reply)
            if text and not text.startswith("2"):
                return text
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: _CountingSMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        received = Received(
            str(envelope.mail_from),
            list(envelope.rcpt_tos),
            bytes(raw),
            connection=server.number,
            mail_options=list(envelope.mail_options),
        )
        entry: Any = getattr(session, "scripted", None)
        if callable(entry):
            entry = entry(received)
        reply = entry if isinstance(entry, Reply) else Reply(entry)
        text = "250 OK"
        if reply.at == "data":
            text = await self._answer(server, reply) or "250 OK"
        received.reply = text
        self.owner._record(received)
        return text


class SmtpTestServer:
    """aiosmtpd on 127.0.0.1 and a free port; `url` is what SMTP_URL should be."""

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        pipelining: bool = False,
        smtputf8: bool = False,
    ) -> None:
        self.port = _free_port()
        self.pipelining = pipelining
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._script: list[ScriptEntry] = []
        self._received: list[Received] = []
        self._open: set[_CountingSMTP] = set()
        self.connections = 0
        self.logins: list[str] = []
        self._auth = auth
        self.implicit_tls = implicit_tls
        # Without SMTPUTF8 (aiosmtpd's default), as many relays still are.
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if auth is not None:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=tls_context is not None)
        if tls_context is not None and not implicit_tls:
            kwargs["tls_context"] = tls_context
        owner = self

        class _Controller(Controller):
            def factory(self) -> SMTP:
                return _CountingSMTP(owner, self.handler, **self.SMTP_kwargs)

        self._controller = _Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=tls_context if implicit_tls else None,
            **kwargs,
        )

    @property
    def url(self) -> str:
        """SMTP URL of this server (without credentials or options)."""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    def start(self) -> SmtpTestServer:
        """Start listening; the controller's own readiness probe is not counted as a connection."""
        self._controller.start()
        with self._lock:
            self.connections = 0
        return self

    def stop(self) -> None:
        """Stop the server and its thread."""
        self._controller.stop()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting and inspection -------------------------------------------------------------------------

    def script(self, replies: Iterable[ScriptEntry]) -> None:
        """Queue replies for the next transactions, one entry per message."""
        with self._lock:
            self._script.extend(replies)

    def reset(self) -> None:
        """Forget received messages, the script and the connection count."""
        with self._lock:
            self._script.clear()
            self._received.clear()
            self.connections = 0
            self.logins.clear()

    @property
    def received(self) -> list[Received]:
        """Every message that reached the end of DATA, whatever the reply."""
        with self._lock:
            return list(self._received)

    @property
    def messages(self) -> list[Received]:
        """Messages the server accepted with 250."""
        return [r for r in self.received if r.accepted]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until at least `count` messages reached DATA (for tests with worker processes)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} messages, got {len(self._received)}")
                self._changed.wait(left)
            return list(self._received)

    def drop_connections(self) -> None:
        """Close every open client connection from the server side, as an idle timeout would."""
        with self._lock:
            protocols = list(self._open)

        async def _close() -> None:
            for proto in protocols:
                if proto.transport is not None:
                    proto.transport.close()
            # Give the loop a turn so connection_lost runs before we report back.
            await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(_close(), self._controller.loop).result(timeout=10)

    # --- called from the server thread --------------------------------------------------------------------

    def _next_reply(self) -> ScriptEntry:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _record(self, received: Received) -> None:
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()

    def _connected(self, proto: _CountingSMTP) -> int:
        with self._lock:
            self.connections += 1
            self._open.add(proto)
            return self.connections

    def _disconnected(self, proto: _CountingSMTP) -> None:
        with self._lock:
            self._open.discard(proto)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self._auth is not None
        ok = (
            isinstance(auth_data, LoginPassword)
            and (
                auth_data.login.decode(),
                auth_data.password.decode(),
            )
            == self._auth
        )
        if ok:
            with self._lock:
                self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)


def tls_contexts(tmp_dir: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway self-signed certificate for 127.0.0.1: (server context, client context trusting it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_dir / "cert.pem", tmp_dir / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A started test SMTP server, stopped after the test."""
    with SmtpTestServer() as server:
        yield server
