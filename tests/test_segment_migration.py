"""Segments saved before OR groups keep their members: 0017 wraps their rules in one group, and back."""

from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from sender.db import make_engine
from sender.migrate import downgrade, upgrade
from sender.services.audience import segments
from tests.test_migrations import empty_database  # noqa: F401  (the scratch database fixture, per backend)

OLD = {"tags": ["vip"], "country": "FR"}


def _contact(conn: object, cid: int, country: str) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO contacts (id, public_id, email, attributes, source, status, is_legacy,"
            " created_at, updated_at) VALUES (:id, :p, :e, '{}', 'api', 'active', false,"
            " '2026-01-01', '2026-01-01')"
        ),
        {"id": cid, "p": f"p{cid}", "e": f"c{cid}@example.org"},
    )
    conn.execute(text("UPDATE contacts SET country = :c WHERE id = :id"), {"c": country, "id": cid})  # type: ignore[attr-defined]
    conn.execute(text("INSERT INTO contact_tags (contact_id, tag) VALUES (:id, 'vip')"), {"id": cid})  # type: ignore[attr-defined]


def test_old_segment_rules_become_one_group_with_the_same_members(empty_database: str) -> None:  # noqa: F811
    upgrade(empty_database, "0016")
    engine = make_engine(empty_database, pool=False)
    try:
        with engine.begin() as conn:
            _contact(conn, 1, "FR")
            _contact(conn, 2, "DE")
            conn.execute(
                text(
                    "INSERT INTO segments (id, name, description, rules, created_at) VALUES"
                    " (1, 'VIP FR', '', :r, '2026-01-01'), (2, 'All', '', '{}', '2026-01-01')"
                ),
                {"r": json.dumps(OLD)},
            )

        upgrade(empty_database)

        with Session(engine) as session:
            rules = dict(session.execute(text("SELECT id, rules FROM segments")).all())
            stored = {k: v if isinstance(v, dict) else json.loads(v) for k, v in rules.items()}
            assert stored == {1: {"groups": [OLD]}, 2: {"groups": [{}]}}
            assert sorted(session.scalars(segments.members(session, [1]))) == [1]
            assert sorted(session.scalars(segments.members(session, [2]))) == [1, 2]

        downgrade(empty_database, "0016")
        with engine.connect() as conn:
            back = dict(conn.execute(text("SELECT id, rules FROM segments")).all())
            assert {k: v if isinstance(v, dict) else json.loads(v) for k, v in back.items()} == {
                1: OLD,
                2: {},
            }
    finally:
        engine.dispose()
