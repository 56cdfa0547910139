"""The one personal-data scrubber: what it hides, in text, tracebacks, log records and SQL errors."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from sender.models import Contact
from sender.runtime import Runtime
from sender.scrub import scrub, scrub_traceback
from sender.tokens import TokenService


def _token() -> str:
    return TokenService(["k" * 32]).dumps("portal", {"c": "AbCdEfGhIjKlMnOpQrStUv"})


def test_scrub_hides_addresses_tokens_query_strings_and_constraint_values() -> None:
    token = _token()
    text = scrub(
        f"GET /p/{token} and /u/short?x=1; mail jeanne.d@example.org, +33 6 12 34 56 78; "
        "GET /api/v1/contacts?email=paul@example.org HTTP/1.1; "
        "Key (email)=(zoe@example.org) already exists. Key (phone_hash)=(abc)"
    )

    assert "/p/[redacted]" in text and token not in text
    assert "/u/[redacted]" in text
    assert "/api/v1/contacts?[redacted] HTTP/1.1" in text
    assert "<email>" in text and "<phone>" in text
    assert "Key (email)=([redacted]) already exists" in text and "Key (phone_hash)=([redacted])" in text
    for secret in ("jeanne", "paul@", "zoe@", "12 34", "short"):
        assert secret not in text
    # Ids and ordinary words stay readable.
    assert scrub("campaign 12 batch 3: sent=50") == "campaign 12 batch 3: sent=50"


def test_tracebacks_keep_frames_and_withhold_untrusted_messages() -> None:
    text = scrub_traceback(
        "Traceback (most recent call last):\n"
        '  File "sender/x.py", line 3, in render\n'
        "    body = template.render(contact=contact)\n"
        "jinja2.exceptions.UndefinedError: 'dict object' has no attribute 'Zoé Martin'\n"
        "redis.exceptions.ConnectionError: Error 111 connecting to cache:6379\n"
        "sender.services.campaigns.launch.RetryLater: campaign 4 batch 0: 2 temporary failures"
    )

    assert 'File "sender/x.py", line 3, in render' in text
    assert "Zoé" not in text
    assert "jinja2.exceptions.UndefinedError: [message withheld" in text
    assert "Error 111 connecting to cache:6379" in text
    assert "campaign 4 batch 0: 2 temporary failures" in text


def test_every_log_record_is_scrubbed_with_its_traceback(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    token = _token()
    logger = logging.getLogger("any.library")
    person = "Jeanne Dupont <jeanne@example.org>"
    with caplog.at_level(logging.INFO):
        try:
            raise ValueError(f"bad value for {person} on /p/{token}")
        except ValueError:
            # What Flask logs for an unhandled exception: the path, and the traceback.
            logger.exception("Exception on /p/%s [GET]", token)

    record = caplog.records[-1]
    shown = logging.Formatter().format(record)
    assert "Exception on /p/[redacted] [GET]" in shown
    assert "Traceback" in shown and "ValueError: [message withheld" in shown
    assert "in test_every_log_record_is_scrubbed_with_its_traceback" in shown  # long names are no tokens
    assert token not in shown and "Jeanne" not in shown and "jeanne@" not in shown


def test_sql_errors_never_carry_bound_parameters(runtime: Runtime) -> None:
    with runtime.Session() as session:
        session.execute(insert(Contact).values(public_id="a" * 22, email="dup@example.org", attributes={}))
        with pytest.raises(IntegrityError) as caught:
            session.execute(
                insert(Contact).values(public_id="b" * 22, email="dup@example.org", attributes={})
            )

    message = str(caught.value)
    assert "SQL parameters hidden" in message
    assert "dup@example.org" not in scrub(message)
