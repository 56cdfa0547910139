"""Fixtures for SMS tests: settings pointing at a Twilio stand-in, and an app built on them.

Import the fixtures a module needs (`from tests.sms_fixtures import sms_app, ...`); pytest finds them there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sender import create_app
from sender.config import Settings
from sender.config_sms import load_sms_settings
from sender.runtime import Runtime
from sender.tokens import TokenService
from tests.queues import QueuedRuntime
from tests.twilio_server import TwilioTestServer

SERVICE_SID = "MG" + "5" * 32
# Every day open, holidays too: only the hour matters in tests that send.
ALL_WEEK = {"SMS_QUIET_HOURS": "*=mon-sun 08:00-21:30", "SMS_ALLOW_HOLIDAYS": "true"}
STOP_TEXT = "STOP au 36123"


def zone_at_local_hour(hour: int) -> str:
    """A fixed-offset zone where it is now `hour` o'clock (so tests do not depend on when they run)."""
    now = datetime.now(UTC)
    offset = (hour - now.hour) % 24
    if offset > 12:
        offset -= 24
    # Etc/GMT signs are inverted: Etc/GMT-3 is UTC+3.
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def sms_env(twilio: TwilioTestServer) -> dict[str, str]:
    """The SMS settings of the test deployment, as environment variables."""
    return {
        **twilio.env(),
        "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
        "SMS_STOP_TEXT": STOP_TEXT,
        "SMS_SENDER_NAME": "Exemple",
    }


def with_sms(settings: Settings, twilio: TwilioTestServer, **env: str) -> Settings:
    """`settings` with Twilio pointed at the stand-in (plus any SMS variables given)."""
    return settings.with_overrides(sms=load_sms_settings({**sms_env(twilio), **env}))


@pytest.fixture
def twilio() -> Iterator[TwilioTestServer]:
    """The Twilio stand-in, answering at once."""
    with TwilioTestServer(latency=0) as server:
        yield server


@pytest.fixture
def sms_settings(settings: Settings, twilio: TwilioTestServer) -> Settings:
    """The test settings with Twilio configured."""
    return with_sms(settings, twilio)


@pytest.fixture
def sms_runtime(sms_settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> Runtime:
    """A runtime with Twilio configured, whose sessions live inside the test transaction."""
    return QueuedRuntime(
        settings=sms_settings,
        engine=engine,
        Session=session_factory,
        tokens=TokenService(sms_settings.secret_keys),
    )


@pytest.fixture
def sms_app(sms_runtime: Runtime) -> Flask:
    """The Flask app with Twilio configured."""
    return create_app({"TESTING": True}, runtime=sms_runtime)


@pytest.fixture
def sms_client(sms_app: Flask) -> FlaskClient:
    """A test client of that app."""
    return sms_app.test_client()
