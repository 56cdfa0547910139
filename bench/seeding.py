"""What the benchmarks share: an empty PostgreSQL schema; n consenting contacts on one list (the send
benchmarks); or the staff pages' database (bench/staff_pages.py, bench/million.py): n contacts, half of them
consenting, one in ten tagged, all on one list, a segment and a sent campaign with one delivery per contact,
in a few INSERT … SELECT over generate_series (no Python loop over rows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sender.db import utcnow
from sender.models import Campaign, ContactList, Segment
from sender.services.accounts import users

PASSWORD = "bench password 0123"  # noqa: S105 (a throwaway account in a throwaway database)

# Per channel: the contacts' address columns and their values for contact i, and the purpose asked about.
_CHANNELS = {
    "email": (
        "email, email_hash, timezone",
        "'person' || i || '@bench.example', encode(sha256(('e' || i)::bytea), 'hex'), NULL",
        ("newsletter", "Newsletter", "Our monthly news.", "Yes, send me the newsletter."),
    ),
    "sms": (
        "phone, phone_hash, timezone",
        "'+336' || lpad(i::text, 8, '0'), encode(sha256(('p' || i)::bytea), 'hex'), :zone",
        ("promos", "Promotions", "Our offers by SMS.", "Yes, text me offers."),
    ),
}


def reset_database(url: str) -> None:
    """Create the bench database if needed and empty its schema."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}):
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed_audience(rt: Any, n: int, channel: str, zone: str | None = None) -> tuple[int, int]:
    """Insert n contacts consenting on `channel` to one purpose, on one list, set-based; (purpose id, list id)."""
    columns, values, (slug, name, description, wording) = _CHANNELS[channel]
    with rt.engine.begin() as conn:
        conn.execute(text("TRUNCATE contacts, lists, purposes, campaigns RESTART IDENTITY CASCADE"))
        purpose_id = conn.scalar(
            text(
                "INSERT INTO purposes (slug, name, description, legal_basis, retention_days, consent_validity_days,"
                " requires_double_opt_in, data_categories, processors, transfers, created_at) VALUES (:slug,"
                " :name, :description, 'consent', 1095, 1095, false, '[]', '[]', '[]', now()) RETURNING id"
            ),
            {"slug": slug, "name": name, "description": description},
        )
        wording_id = conn.scalar(
            text(
                "INSERT INTO consent_wordings (purpose_id, version, text, created_at)"
                " VALUES (:p, 1, :text, now()) RETURNING id"
            ),
            {"p": purpose_id, "text": wording},
        )
        list_id = conn.scalar(
            text("INSERT INTO lists (name, description, created_at) VALUES ('all', '', now()) RETURNING id")
        )
        conn.execute(
            text(
                f"INSERT INTO contacts (public_id, {columns}, first_name, last_name, locale, country,"  # noqa: S608
                " attributes, source, status, is_legacy, created_at, updated_at)"
                f" SELECT md5('c' || i), {values}, 'Camille', 'Martin', 'fr', 'FR', '{{}}', 'import', 'active',"
                " false, now(), now() FROM generate_series(1, :n) AS i"
            ),
            {"n": n, "zone": zone},
        )
        conn.execute(
            text(
                "INSERT INTO consent_events (contact_id, purpose_id, channel, action, occurred_at, source, mechanism,"
                " wording_id, actor, evidence, expires_at)"
                " SELECT id, :p, :channel, 'grant', now(), 'form', 'checkbox', :w, 'bench', '{}',"
                " now() + interval '3 years' FROM contacts"
            ),
            {"p": purpose_id, "w": wording_id, "channel": channel},
        )
        conn.execute(
            text(
                "INSERT INTO consent_states (contact_id, purpose_id, channel, status, since, expires_at, last_event_id)"
                " SELECT contact_id, purpose_id, channel, 'granted', occurred_at, expires_at, id FROM consent_events"
            )
        )
        conn.execute(
            text(
                "INSERT INTO list_members (list_id, contact_id, added_at) SELECT :l, id, now() FROM contacts"
            ),
            {"l": list_id},
        )
    with rt.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    return int(purpose_id), int(list_id)


def seed_sent_campaign(rt: Any, n: int) -> tuple[int, list[int]]:
    """n consenting email contacts and one marketing campaign sent to each of them; (campaign id, delivery ids)."""
    purpose_id, _ = seed_audience(rt, n, "email")
    with rt.engine.begin() as conn:
        campaign_id = conn.scalar(
            text(
                "INSERT INTO campaigns (name, purpose_id, channel, kind, subject, body_html, body_text, status,"
                " created_by, created_at) VALUES ('bench', :p, 'email', 'marketing', 's', '<p>b</p>', 'b', 'sent',"
                " 'bench', now()) RETURNING id"
            ),
            {"p": purpose_id},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (campaign_id, contact_id, batch_no, attempts, status, sent_at, claimed_at,"
                " created_at) SELECT :c, id, 0, 1, 'sent', now(), now(), now() FROM contacts ORDER BY id"
            ),
            {"c": campaign_id},
        )
        delivery_ids = [int(i) for i in conn.scalars(text("SELECT id FROM deliveries ORDER BY id"))]
    with rt.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    return int(campaign_id), delivery_ids


STAFF_SEED = [
    # Contacts: names cycle through 8 first names and 8 by 97 last names, so searches find rows of known shapes.
    """INSERT INTO contacts (public_id, email, email_hash, phone, first_name, last_name, locale, country,
       attributes, source, status, is_legacy, created_at, updated_at)
       SELECT 'bench' || lpad(i::text, 7, '0'), 'person' || lpad(i::text, 7, '0') || '@example.org',
              encode(sha256(('e' || i)::bytea), 'hex'), '+3361' || lpad(i::text, 7, '0'),
              (ARRAY['Camille','Jeanne','Paul','Louise','Hugo','Léa','Jules','Chloé'])[i % 8 + 1],
              (ARRAY['Martin','Bernard','Dubois','Thomas','Robert','Richard','Petit','Durand'])[(i / 8) % 8 + 1]
                || (i % 97)::text,
              'fr', 'FR', '{}', 'import', 'active', false, now() - make_interval(secs => :n - i), now()
       FROM generate_series(0, :n - 1) AS i""",
    "INSERT INTO list_members (list_id, contact_id, added_at) SELECT :list, id, now() FROM contacts",
    "INSERT INTO contact_tags (contact_id, tag) SELECT id, 'vip' FROM contacts WHERE id % 10 = 0",
    """INSERT INTO consent_events (contact_id, purpose_id, channel, action, occurred_at, source, mechanism,
       wording_id, actor, evidence)
       SELECT id, :purpose, 'email', 'grant', now() - interval '1 day', 'form', 'checkbox', :wording, 'bench', '{}'
       FROM contacts WHERE id % 2 = 0""",
    """INSERT INTO consent_states (contact_id, purpose_id, channel, status, since, expires_at, last_event_id)
       SELECT contact_id, purpose_id, channel, 'granted', occurred_at, now() + interval '1000 days', id
       FROM consent_events""",
    """INSERT INTO deliveries (campaign_id, contact_id, batch_no, status, reason, attempts, created_at, sent_at)
       SELECT :campaign, id, id / 500,
              CASE WHEN id % 2 = 0 THEN 'sent' ELSE 'skipped' END,
              CASE WHEN id % 2 = 0 THEN NULL ELSE 'no_consent' END, 1, now(),
              CASE WHEN id % 2 = 0 THEN now() END
       FROM contacts""",
]


def seed_staff_pages(rt: Any, n: int) -> dict[str, Any]:
    """The purpose, list, segment, sent campaign, then the rows in bulk; ids by name."""
    now = utcnow()
    with rt.Session() as session:
        users.create_user(session, "bench@example.org", "admin", PASSWORD)
        session.commit()
    with rt.engine.begin() as conn:
        purpose = conn.scalar(
            text(
                "INSERT INTO purposes (slug, name, description, legal_basis, retention_days,"
                " consent_validity_days, requires_double_opt_in, data_categories, processors, transfers,"
                " created_at) VALUES ('news', 'Newsletter', 'News', 'consent', 1095, 1095, false, '[]', '[]',"
                " '[]', now()) RETURNING id"
            )
        )
        wording = conn.scalar(
            text(
                "INSERT INTO consent_wordings (purpose_id, version, text, created_at)"
                " VALUES (:p, 1, 'Yes, send me the newsletter.', now()) RETURNING id"
            ),
            {"p": purpose},
        )
        lst = conn.scalar(
            text(
                "INSERT INTO lists (name, description, created_at) VALUES ('Everyone', '', now()) RETURNING id"
            )
        )
    with rt.Session() as session:
        campaign = Campaign(
            name="Bench campaign",
            purpose_id=purpose,
            channel="email",
            subject="Hi {{ contact.first_name }}",
            body_text="Hello {{ contact.first_name }}",
            body_html="<p>Hello</p>",
            status="sent",
            launched_at=now,
            planned_at=now,
            finished_at=now,
            lists=[session.get(ContactList, lst)],
        )
        session.add(campaign)
        session.add(
            Segment(
                name="Tagged",
                rules={
                    "groups": [
                        {
                            "tags": ["vip"],
                            "consent": {"purpose": "news", "channel": "email", "state": "granted"},
                        }
                    ]
                },
            )
        )
        session.commit()
        ids = {"purpose": purpose, "wording": wording, "list": lst, "campaign": campaign.id}
    params = {"n": n, **ids}
    for statement in STAFF_SEED:
        with rt.engine.begin() as conn:
            conn.execute(text(statement), params)
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {**ids, "middle": f"bench{n // 2:07d}"}
