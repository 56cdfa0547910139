"""Migrations are the only schema: one head, reversible on an empty database, identical to the models."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sender.models  # noqa: F401  (registers every table on Base.metadata)
from sender.db import Base, make_engine
from sender.enums import (
    CampaignKind,
    CampaignStatus,
    Channel,
    ConsentAction,
    ConsentSource,
    ConsentStatus,
    ContactStatus,
    DeliveryStatus,
    Role,
)
from sender.migrate import alembic_config, downgrade, upgrade
from sender.models import AbTest, Delivery, DeliveryCount
from sender.services.campaigns import lifecycle, tallies
from tests import factories

# PostgreSQL joins the SQLite run whenever the suite has a server to create a scratch database on.
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    server = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url, pool=False)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_there_is_a_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()

    assert len(heads) == 1, f"several migration heads: {heads}; merge them"


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database: str) -> None:
    model_tables = set(Base.metadata.tables)

    upgrade(empty_database)
    assert _tables(empty_database) == model_tables | {"alembic_version"}

    downgrade(empty_database, "base")
    assert _tables(empty_database) <= {"alembic_version"}

    upgrade(empty_database)
    assert _tables(empty_database) == model_tables | {"alembic_version"}


def test_models_and_migrations_do_not_differ(empty_database: str) -> None:
    upgrade(empty_database)
    engine = make_engine(empty_database, pool=False)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()

    assert differences == [], "models changed without a migration: run alembic revision --autogenerate"


# Every CHECK constraint of migration 0002, with the enum whose values it must allow.
CHECKED = {
    ("contacts", "status"): ContactStatus,
    ("suppressions", "channel"): Channel,
    ("campaigns", "status"): CampaignStatus,
    ("campaigns", "kind"): CampaignKind,
    ("campaigns", "channel"): Channel,
    ("deliveries", "status"): DeliveryStatus,
    ("consent_events", "channel"): Channel,
    ("consent_events", "action"): ConsentAction,
    ("consent_events", "source"): ConsentSource,
    ("consent_states", "channel"): Channel,
    ("consent_states", "status"): ConsentStatus,
    ("users", "role"): Role,
}


def test_check_constraints_match_the_enums_keep_rows_and_refuse_unknown_values(empty_database: str) -> None:
    upgrade(empty_database, "0001")
    engine = make_engine(empty_database, pool=False)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO contacts (id, public_id, email, attributes, source, status, is_legacy,"
                    " created_at, updated_at) VALUES (1, 'p1', 'a@example.org', '{}', 'api', 'active', false,"
                    " '2026-01-01', '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO lists (id, name, description, created_at) VALUES (1, 'l', '', '2026-01-01')"
                )
            )
            conn.execute(
                text("INSERT INTO list_members (list_id, contact_id, added_at) VALUES (1, 1, '2026-01-01')")
            )

        upgrade(empty_database)

        with engine.connect() as conn:
            # SQLite rebuilt the tables: a cascade on the dropped copy would have taken the membership along.
            assert conn.execute(text("SELECT count(*) FROM list_members")).scalar_one() == 1
            inspector = inspect(conn)
            for (table, column), values in CHECKED.items():
                found = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
                allowed = set(re.findall(r"'([^']*)'", str(found[f"ck_{table}_{column}"])))
                assert allowed == {v.value for v in values}, (table, column)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("UPDATE contacts SET status = 'archived' WHERE id = 1"))
    finally:
        engine.dispose()


def test_the_variant_revision_counts_tested_rows_by_variant_and_merges_them_back_on_downgrade(
    empty_database: str,
) -> None:
    upgrade(empty_database, "0035")
    engine = make_engine(empty_database, pool=False)
    try:
        with Session(engine) as session:
            factories.bind(session)
            tested, plain = factories.CampaignFactory(status="sent"), factories.CampaignFactory(status="sent")
            session.add(AbTest(campaign_id=tested.id, test_percent=20, wait_minutes=60))
            for campaign, variant in [(tested, 0), (tested, 1), (tested, 1), (plain, None)]:
                person = factories.ContactFactory()
                session.add(
                    Delivery(campaign_id=campaign.id, contact_id=person.id, status="sent", variant=variant)
                )
            # Compacted before the revision: counted without a variant.
            session.execute(
                text(
                    "INSERT INTO delivery_counts (campaign_id, status, reason, count) VALUES (:c, 'sent', '', 4)"
                ),
                {"c": tested.id},
            )
            session.commit()
            ids = (tested.id, plain.id)

        upgrade(empty_database)

        with Session(engine) as session:
            assert tallies.live(session) == tallies.recount(session)
            report = lifecycle.reports_for(session, ids)[ids[0]]
            assert (report.by_status, report.by_variant) == ({"sent": 7}, {0: {"sent": 1}, 1: {"sent": 2}})
            # The replaced triggers count a row moved to another variant.
            session.execute(update(Delivery).where(Delivery.variant == 0).values(variant=1))
            session.add(DeliveryCount(campaign_id=ids[0], status="sent", reason="", variant=1, count=5))
            session.commit()
            assert tallies.live(session) == tallies.recount(session)
            assert lifecycle.reports_for(session, ids)[ids[0]].by_variant == {1: {"sent": 3 + 5}}
            assert lifecycle.reports_for(session, ids)[ids[1]].by_status == {"sent": 1}

        downgrade(empty_database, "0035")

        with Session(engine) as session:
            factories.bind(session)
            # 0028's triggers are back: a new row is counted without a variant column.
            session.add(Delivery(campaign_id=ids[1], contact_id=factories.ContactFactory().id, status="sent"))
            session.commit()
            counts = session.execute(
                text("SELECT campaign_id, status, reason, count FROM delivery_counts")
            ).all()
            assert [tuple(row) for row in counts] == [(ids[0], "sent", "", 9)]
            kept = text("SELECT campaign_id, sum(delta) FROM delivery_tallies GROUP BY campaign_id")
            assert {c: n for c, n in session.execute(kept)} == {ids[0]: 3, ids[1]: 2}
    finally:
        engine.dispose()
