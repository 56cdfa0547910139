"""Alembic driven from code: the schema is created only by migrations."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from sender.paths import resource_dir


def alembic_config(database_url: str, connection: Connection | None = None) -> Config:
    """Alembic Config pointing at our migrations folder and database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resource_dir("migrations")))
    # ConfigParser interpolation would choke on '%' in passwords.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to `revision`."""
    command.downgrade(alembic_config(database_url), revision)
