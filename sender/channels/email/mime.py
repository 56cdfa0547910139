"""MIME building blocks for outgoing mail: the email package folds headers, we assemble bytes.

Headers that need folding or RFC 2047 encoding go through the email package's policy (`fold`); the
per-recipient hot path only joins ASCII lines and quoted-printable bodies, with CRLF line ends as SMTP wants.
"""

from __future__ import annotations

import binascii
from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
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


_headers = HeaderRegistry()
# The stock folding turns a long URI into RFC 2047 encoded-words, which no client can follow.
_headers.map_to_type("list-unsubscribe", _UriListHeader)
# 7bit: bodies are quoted-printable, so a relay never re-encodes them after DKIM signing.
POLICY = email_policy.default.clone(header_factory=_headers, cte_type="7bit", linesep="\r\n")
# RFC 5322 allows 998 characters; a plain ASCII subject up to this length needs no folding at all.
_MAX_PLAIN_SUBJECT = 900


def fold(name: str, value: Any) -> str:
    """One header, folded and encoded by the email package, ending in CRLF."""
    header = POLICY.header_factory(name, value)
    folded: str = header.fold(policy=POLICY)
    return folded


# UTF-8 bytes per encoded-word: base64 of 39 bytes is 52 characters, so each "=?utf-8?b?…?=" is 64 long and
# every line, the first one with "Subject: " too, stays within the 78 that RFC 5322 recommends.
_WORD_BYTES = 39


def subject_line(subject: str) -> str:
    """The Subject header: as is when plain ASCII, else as RFC 2047 encoded-words, one per folded line.

    (The email package's folding gives the same decoded text at several times the cost: a subject is made
    per recipient.) An ASCII subject that is very long or looks like an encoded-word goes through it.
    """
    if subject.isascii():
        if len(subject) <= _MAX_PLAIN_SUBJECT and "=?" not in subject:
            return f"Subject: {subject}\r\n"
        return fold("Subject", subject)
    return f"Subject: {encoded_words(subject)}\r\n"


def encoded_words(text: str) -> str:
    """RFC 2047 "B" encoded-words of a text, cut between characters and joined by folding whitespace.

    Readers drop the whitespace between two encoded-words, so the text decodes as it was.
    """
    data = text.encode("utf-8")
    words = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never inside a character's bytes
            end -= 1
        words.append(f"=?utf-8?b?{binascii.b2a_base64(data[start:end], newline=False).decode('ascii')}?=")
        start = end
    return "\r\n ".join(words)


def part_head(boundary: str, subtype: str) -> bytes:
    """Boundary line and headers of one quoted-printable text part."""
    return (
        f"\r\n--{boundary}\r\n"
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ).encode("ascii")


def qp(body: str) -> bytes:
    """A body as quoted-printable UTF-8 with CRLF line ends."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
