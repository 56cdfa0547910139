"""Alembic environment: metadata from sender.models, URL from the caller or from sender's settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import sender.models  # noqa: F401  (registers every table on Base.metadata)
from sender.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from sender.config import load_settings

    return load_settings().database_url


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite and not connection.in_transaction():
        # Batch mode rebuilds a table by dropping it: with foreign keys on, that DROP would cascade to every
        # referencing row. The pragma is ignored inside a transaction, so it goes to the driver first.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    if sqlite:
        # Batch mode renames its rebuilt copy into place. Since SQLite 3.26 a RENAME re-checks every trigger
        # and view of the schema, and the summary-count triggers (0028) name tables that are, at that instant,
        # dropped (a purpose or campaign being rebuilt): the legacy rename leaves them to be resolved by name.
        # On the driver's connection: SQLAlchemy's would begin a transaction that Alembic then leaves open.
        connection.connection.driver_connection.execute("PRAGMA legacy_alter_table=ON")  # type: ignore[union-attr]
    try:
        _configure_and_run(connection)
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA legacy_alter_table=OFF")  # type: ignore[union-attr]
        if sqlite and not connection.in_transaction():
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL without a database connection."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection, reusing one the caller passed in if any."""
    existing = config.attributes.get("connection")
    if existing is not None:
        _run(existing)
        return
    engine = make_engine(_url(), pool=False)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
