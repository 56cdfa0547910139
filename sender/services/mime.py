"""The MIME policy of outgoing mail: headers that survive folding, built fast enough for the hot path."""

from __future__ import annotations

import binascii
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from typing import Any


class _UriListHeader(UnstructuredHeader, BaseHeader):
    """List-Unsubscribe: folded only between URIs, never turned into encoded-words."""

    max_count = 1

    def fold(self, *, policy: Any) -> str:
        """One URI per line when the header is long (RFC 2369 allows whitespace between URIs)."""
        value = " ".join(str(self).split())
        if len(self.name) + 2 + len(value) > policy.max_line_length:
            value = value.replace(", ", "," + policy.linesep + " ")
        return f"{self.name}: {value}{policy.linesep}"


class _MemoFoldHeader(BaseHeader):
    """Folds once per policy: headers shared by a whole batch are then serialised for free."""

    def fold(self, *, policy: Any) -> str:
        """The stock folding, remembered on the (immutable) header object."""
        key = (policy.linesep, policy.max_line_length, policy.utf8)
        folds: dict[tuple[Any, ...], str] = self.__dict__.setdefault("_folds", {})
        folded = folds.get(key)
        if folded is None:
            folded = folds[key] = super().fold(policy=policy)
        return folded


class _CachedRegistry(HeaderRegistry):
    """The stock registry builds a new class on every lookup; build each one once (hot path)."""

    def __init__(self) -> None:
        super().__init__(base_class=_MemoFoldHeader)
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


_headers = _CachedRegistry()
# The stock folding turns a long URI into RFC 2047 encoded-words, which no client can follow.
_headers.map_to_type("list-unsubscribe", _UriListHeader)
# 7bit: bodies are quoted-printable or base64, so a relay never re-encodes them after DKIM signing.
POLICY = email_policy.default.clone(header_factory=_headers, cte_type="7bit")


def qp_part(content_type: Any, transfer_encoding: Any, body: str) -> EmailMessage:
    """A quoted-printable part from ready-made headers (set_content would re-parse them every time)."""
    part = EmailMessage(policy=POLICY)
    part["Content-Type"], part["Content-Transfer-Encoding"] = content_type, transfer_encoding
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part
