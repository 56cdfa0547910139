"""Engine, session factory and declarative base; the one place that talks to SQLAlchemy setup."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import URL, CursorResult, Engine, MetaData, Result, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

# The execution option of work.reading's sessions (kept here: db.py is below every other module).
READ_ONLY_OPTION = "sender_read_only"

# Largest value of an Integer column (32-bit signed on PostgreSQL): input beyond it names no row and
# cannot be stored, so every edge refuses it before a query sees it.
MAX_INT = 2**31 - 1

# Stable constraint names, so Alembic migrations name the same things on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _clock_offset(raw: str) -> timedelta:
    """SENDER_CLOCK_OFFSET: seconds every process of a test deployment adds to the time (a deadline passes)."""
    try:
        return timedelta(seconds=float(raw or 0))
    except ValueError:
        raise ValueError(f"SENDER_CLOCK_OFFSET must be a number of seconds, got {raw!r}") from None


# Read once per process: the test suite starts `sender serve` with it to move the clock forward.
CLOCK_OFFSET = _clock_offset(os.environ.get("SENDER_CLOCK_OFFSET", ""))


def utcnow() -> datetime:
    """Current UTC time as a naive datetime: the one time representation stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None) + CLOCK_OFFSET


# How long a SQLite writer waits for another's lock before failing: a URL's `?timeout=` (seconds) overrides it.
SQLITE_BUSY_SECONDS = 30.0


def _configure_sqlite(engine: Engine, busy_seconds: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; take control of BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the web process read while a worker writes; busy_timeout waits instead of failing.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking. A read-only
        # unit (work.reading: exports, reports) begins deferred and never holds the write lock, so a slow or
        # abandoned download cannot stall the writers.
        if conn.get_execution_options().get(READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """Create an engine for a PostgreSQL or SQLite URL with the settings each backend needs."""
    # Bound parameters hold addresses and names: never let an error message or a log line show them.
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if not pool:
        kwargs["poolclass"] = NullPool
    if url.startswith("sqlite"):
        busy = _busy_seconds(make_url(url))
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy}
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, busy)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _busy_seconds(url: URL) -> float:
    """The SQLite URL's `?timeout=` in seconds (config.py checked it), else SQLITE_BUSY_SECONDS."""
    raw = url.query.get("timeout")
    if raw is None:
        return SQLITE_BUSY_SECONDS
    return float(raw if isinstance(raw, str) else raw[-1])


def make_sessionmaker(engine: Engine | Any) -> sessionmaker[Session]:
    """Session factory; objects stay readable after commit so views can present them."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE (the ORM types every result as a plain Result)."""
    cursor: CursorResult[Any] = result  # type: ignore[assignment]
    return cursor.rowcount
