"""SMTP transport: one persistent connection, replies mapped to sent / temporary / permanent.

When the server offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go out in one write: two round trips per
message instead of four (measured: about twice the messages per second against a sink with no latency).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sender.addresses import ascii_email
from sender.channels.base import SendResult
from sender.channels.email.message import OutgoingEmail
from sender.scrub import scrub

DEFAULT_TIMEOUT = 30.0
# RFC 3463 X.1.x is about addresses; X.1.7 and X.1.8 describe the *sender's* address, not the recipient's.
_ENHANCED_ADDRESS = re.compile(r"\b5\.1\.(\d{1,3})\b")
_SENDER_SUBCODES = frozenset({"7", "8"})
_MAX_DETAIL = 300


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from SMTP_URL."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float
    helo: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """Read smtp://[user:pass@]host[:port][?starttls=1&timeout=S&helo=NAME] or smtps://…."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP URL must look like smtp://host:port or smtps://host:port")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=not implicit and query.get("starttls", "0").lower() in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", DEFAULT_TIMEOUT)),
            helo=query.get("helo") or None,
        )


class _Tracking:
    """Remembers whether the DATA command went out, so a lost reply is never mistaken for a safe retry."""

    data_started = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)  # type: ignore[misc]


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTPSSL(_Tracking, smtplib.SMTP_SSL):
    pass


def _pipelined_sendmail(
    conn: _SMTP | _SMTPSSL, sender: str, recipient: str, data: bytes, options: list[str]
) -> None:
    """One transaction with RFC 2920 PIPELINING: MAIL, RCPT and DATA in one write, then the message.

    Raises the exceptions smtplib's sendmail() raises, so replies are judged the same way. `data_started` is
    set only once the server said 354 and the message bytes go out: before that nothing can have been delivered.
    """
    extra = "".join(f" {option}" for option in options)
    commands = f"MAIL FROM:<{sender}>{extra}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n"
    conn.send(commands.encode("utf-8" if options else "ascii"))
    replies: list[tuple[int, bytes]] = []
    for _ in range(3):
        replies.append(conn.getreply())
        if replies[-1][0] == 421:  # the server is closing the connection: no more replies will come
            break
    mail, rcpt, go = (replies + [(0, b"")] * 3)[:3]
    if mail[0] != 250 or rcpt[0] not in (250, 251) or go[0] != 354:
        _settle(conn, drop=go[0] == 354 or replies[-1][0] == 421)
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
        if rcpt[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        raise smtplib.SMTPDataError(*go)
    if data.count(b"\n") != data.count(b"\r\n"):
        data = smtplib._fix_eols(data)  # type: ignore[attr-defined]
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    # Dot-stuffing (RFC 5321 4.5.2): a line that starts with "." gets one more.
    stuffed = (b"." if data.startswith(b".") else b"") + data.replace(b"\r\n.", b"\r\n..")
    conn.data_started = True
    conn.send(stuffed + b".\r\n")
    code, reply = conn.getreply()
    if code != 250:
        _settle(conn, drop=code == 421)
        raise smtplib.SMTPDataError(code, reply)


def _settle(conn: _SMTP | _SMTPSSL, *, drop: bool) -> None:
    """After a refusal: RSET for the next message, or close a connection the server is closing or out of step."""
    # (A server that says 354 after refusing MAIL or RCPT is out of step: dropping it beats guessing.)
    if not drop:
        try:
            conn.rset()
            return
        except (smtplib.SMTPException, OSError):
            pass
    conn.close()


def _clean(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # Servers often echo the recipient in their reply; details end up in logs and rows, so mask addresses.
    return scrub(" ".join(text.split()))[:_MAX_DETAIL]


def classify(code: int, reply: str | bytes, *, about_recipient: bool = True) -> SendResult:
    """Map an SMTP reply code and text to a SendResult (5.1.x about the recipient = invalid address)."""
    text = _clean(reply)
    if 200 <= code < 300:
        return SendResult("sent", code, text)
    if 500 <= code < 600:
        match = _ENHANCED_ADDRESS.search(text)
        invalid = about_recipient and match is not None and match.group(1) not in _SENDER_SUBCODES
        return SendResult("permanent", code, text, address_invalid=invalid)
    # 4xx, and anything a server should not have said, may work later.
    return SendResult("temporary", code, text)


class SmtpTransport:
    """Sends over one SMTP connection opened on enter and closed with QUIT on exit."""

    def __init__(self, url: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.target = SmtpTarget.parse(url)
        # Tests pass a context trusting their own certificate; production uses the system store, loaded only
        # when TLS is used (loading it costs more than sending a message, and a pool opens many transports).
        self._ssl_context = ssl_context
        self._conn: _SMTP | _SMTPSSL | None = None
        self._used = False
        self._broken: str | None = None

    def __enter__(self) -> SmtpTransport:
        self._broken = None
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Say QUIT and drop the connection (quietly if it is already gone)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def _open(self) -> _SMTP | _SMTPSSL | None:
        """Connect, say EHLO, upgrade to TLS and log in as configured; on failure remember why."""
        t = self.target
        conn: _SMTP | _SMTPSSL | None = None
        if (t.implicit_tls or t.starttls) and self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        try:
            if t.implicit_tls:
                conn = _SMTPSSL(t.host, t.port, t.helo, timeout=t.timeout, context=self._ssl_context)
            else:
                conn = _SMTP(t.host, t.port, t.helo, timeout=t.timeout)
            conn.ehlo()
            if t.starttls:
                conn.starttls(context=self._ssl_context)
                conn.ehlo()
            if t.username is not None:
                conn.login(t.username, t.password or "")
        except smtplib.SMTPResponseException as exc:
            self._broken = f"cannot open SMTP session: {exc.smtp_code} {_clean(exc.smtp_error)}"
        except (smtplib.SMTPException, OSError) as exc:
            self._broken = f"cannot connect to SMTP server: {_clean(str(exc) or type(exc).__name__)}"
        if self._broken is not None:
            if conn is not None:
                conn.close()
            return None
        self._conn, self._used = conn, False
        return conn

    def _connection(self) -> _SMTP | _SMTPSSL | None:
        if self._conn is not None and self._conn.sock is None:
            # smtplib closes the socket itself after a 421; start again on a fresh one.
            self._conn = None
        if self._conn is None and self._broken is None:
            return self._open()
        return self._conn

    def send(self, message: OutgoingEmail) -> SendResult:
        """Send one message; never raises for SMTP or network failures."""
        # A domain travels as IDNA through any server; only a non-ASCII local part needs SMTPUTF8 (RFC 6531).
        sender, recipient = ascii_email(message.sender), ascii_email(message.recipient)
        options = [] if sender.isascii() and recipient.isascii() else ["SMTPUTF8"]
        # One retry, only on a connection that served earlier messages and may have gone stale meanwhile.
        for _attempt in range(2):
            conn = self._connection()
            if conn is None:
                return SendResult("temporary", None, self._broken or "no SMTP connection")
            reused, self._used = self._used, True
            conn.data_started = False
            if options and not conn.has_extn("smtputf8"):
                # A non-ASCII local part needs SMTPUTF8; without it, retrying will not help.
                return SendResult("permanent", None, "server does not support SMTPUTF8")
            try:
                if conn.has_extn("pipelining"):
                    _pipelined_sendmail(conn, sender, recipient, message.data, options)
                else:
                    conn.sendmail(sender, [recipient], message.data, mail_options=options)
                return SendResult("sent", 250, provider_id=message.message_id or None)
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()), (451, b"recipient refused"))
                result = classify(code, reply)
            except smtplib.SMTPSenderRefused as exc:
                result = classify(exc.smtp_code, exc.smtp_error, about_recipient=False)
            except smtplib.SMTPResponseException as exc:
                result = classify(exc.smtp_code, exc.smtp_error)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._discard()
                if conn.data_started:
                    # The message may have been accepted: report it, never send it twice.
                    return SendResult("temporary", None, "connection lost", outcome_unknown=True)
                if reused:
                    continue
                return SendResult("temporary", None, f"connection failed: {_clean(str(exc))}")
            if result.code == 421 and not conn.data_started and reused:
                # "Service closing": typically an idle or per-connection limit; a fresh connection may do.
                self._discard()
                continue
            return result
        return SendResult("temporary", None, "connection failed twice")

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
