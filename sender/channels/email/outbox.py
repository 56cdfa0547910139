"""Outbox transport for local use: each message becomes an .eml file in a folder."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sender.channels.base import SendResult
from sender.channels.email.message import OutgoingEmail

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def file_name(message_id: str | None, now: datetime | None = None) -> str:
    """A sortable, filesystem-safe name: UTC timestamp, then the sanitised Message-ID."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    ident = _UNSAFE.sub("_", (message_id or "").strip("<> ")).strip("._")[:150] or secrets.token_hex(8)
    return f"{stamp}-{ident}.eml"


class OutboxTransport:
    """Writes messages atomically (temporary file, then rename) so readers never see half a message."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def __enter__(self) -> OutboxTransport:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, message: OutgoingEmail) -> SendResult:
        """Write one message as an .eml file; a full disk is a temporary failure."""
        message_id = message.message_id or None
        target = self.folder / file_name(message_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            data = message.data
            # The dot prefix and .part suffix keep half-written files out of any "*.eml" listing.
            fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            return SendResult("temporary", None, f"outbox write failed: {exc.strerror or exc}")
        return SendResult("sent", 250, target.name, provider_id=message_id)
