"""Benchmark: how long each staff page takes with 100,000 contacts on PostgreSQL.

Seeds N contacts (half of them with a consent, one in ten tagged, all on one list), a segment, and a sent
campaign with one delivery per contact; then signs in and times each page through the WSGI app (no network:
the figure is the server's own time), printing median and 95th percentile over several requests.

    python bench/staff_pages.py                  # N = 100,000
    python bench/staff_pages.py --contacts 5000  # a quick run

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_pages; its schema is dropped
and rebuilt) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/13) choose the servers.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sender import create_app
from sender.addresses import address_hash
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import (
    Campaign,
    ConsentEvent,
    ConsentState,
    ConsentWording,
    Contact,
    ContactList,
    ContactTag,
    Delivery,
    ListMember,
    Purpose,
    Segment,
    campaign_lists,
)
from sender.runtime import build_runtime
from sender.services.accounts import users

PASSWORD = "bench password 0123"  # noqa: S105 (a throwaway account in a throwaway database)
CHUNK = 5000
REPEAT = 15


def _reset(url: str) -> None:
    admin_url = make_url(url).set(database="postgres")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = make_url(url).database
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def seed(runtime: object, n: int, hash_key: str) -> dict[str, int | str]:
    """Insert the contacts and their consent, tags, list, segment and a sent campaign, in bulk."""
    rt = runtime  # type: ignore[assignment]
    now = utcnow()
    with rt.Session() as session:  # type: ignore[attr-defined]
        users.create_user(session, "bench@example.org", "admin", PASSWORD)
        purpose = Purpose(slug="news", name="Newsletter", description="News", consent_validity_days=1095)
        session.add(purpose)
        session.flush()
        wording = ConsentWording(purpose_id=purpose.id, version=1, text="Yes, send me the newsletter.")
        lst = ContactList(name="Everyone", description="")
        session.add_all([wording, lst])
        session.flush()
        campaign = Campaign(
            name="Bench campaign",
            purpose_id=purpose.id,
            channel="email",
            subject="Hi {{ contact.first_name }}",
            body_text="Hello {{ contact.first_name }}",
            body_html="<p>Hello</p>",
            status="sent",
            launched_at=now,
            planned_at=now,
            finished_at=now,
        )
        session.add(campaign)
        session.flush()
        session.execute(insert(campaign_lists).values(campaign_id=campaign.id, list_id=lst.id))
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
        ids = {"purpose": purpose.id, "wording": wording.id, "list": lst.id, "campaign": campaign.id}
    conn_engine = rt.engine  # type: ignore[attr-defined]
    first_names = ["Camille", "Jeanne", "Paul", "Louise", "Hugo", "Léa", "Jules", "Chloé"]
    last_names = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
    for start in range(0, n, CHUNK):
        with conn_engine.begin() as conn:
            rows = []
            for i in range(start, min(n, start + CHUNK)):
                email = f"person{i:06d}@example.org"
                rows.append(
                    {
                        "public_id": f"bench{i:06d}",
                        "email": email,
                        "email_hash": address_hash(hash_key, email),
                        "phone": f"+3361{i:07d}",
                        "first_name": first_names[i % 8],
                        "last_name": f"{last_names[(i // 8) % 8]}{i % 97}",
                        "locale": "fr",
                        "country": "FR",
                        "attributes": {},
                        "source": "import",
                        "status": "active",
                        "is_legacy": False,
                        "created_at": now - timedelta(seconds=n - i),
                        "updated_at": now,
                    }
                )
            conn.execute(insert(Contact), rows)
            contact_ids = (
                conn.execute(
                    select(Contact.id)
                    .where(Contact.public_id.in_([r["public_id"] for r in rows]))
                    .order_by(Contact.id)
                )
                .scalars()
                .all()
            )
            conn.execute(
                insert(ListMember),
                [{"list_id": ids["list"], "contact_id": c, "added_at": now} for c in contact_ids],
            )
            conn.execute(insert(ContactTag), [{"contact_id": c, "tag": "vip"} for c in contact_ids[::10]])
            granted = contact_ids[::2]
            is_granted = set(granted)
            events = conn.execute(
                insert(ConsentEvent).returning(ConsentEvent.id, ConsentEvent.contact_id),
                [
                    {
                        "contact_id": c,
                        "purpose_id": ids["purpose"],
                        "channel": "email",
                        "action": "grant",
                        "occurred_at": now - timedelta(days=1),
                        "source": "form",
                        "mechanism": "checkbox",
                        "wording_id": ids["wording"],
                        "actor": "bench",
                        "evidence": {},
                    }
                    for c in granted
                ],
            ).all()
            conn.execute(
                insert(ConsentState),
                [
                    {
                        "contact_id": c,
                        "purpose_id": ids["purpose"],
                        "channel": "email",
                        "status": "granted",
                        "since": now - timedelta(days=1),
                        "expires_at": now + timedelta(days=1000),
                        "last_event_id": e,
                    }
                    for e, c in events
                ],
            )
            conn.execute(
                insert(Delivery),
                [
                    {
                        "campaign_id": ids["campaign"],
                        "contact_id": c,
                        "batch_no": 0,
                        "status": "sent" if c in is_granted else "skipped",
                        "reason": None if c in is_granted else "no_consent",
                        "attempts": 1,
                        "created_at": now,
                        "sent_at": now if c in is_granted else None,
                    }
                    for c in contact_ids
                ],
            )
        print(f"  seeded {min(n, start + CHUNK):,} contacts", end="\r", flush=True)
    with conn_engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print()
    return {**ids, "middle": f"bench{n // 2:06d}", "middle_id": n // 2}


def timed(client: object, url: str) -> tuple[float, float, int]:
    """Median and p95 in milliseconds over REPEAT requests (after one warm-up), and the status."""
    status = client.get(url).status_code  # type: ignore[attr-defined]
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        response.get_data()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], status


def signed_in(app: object) -> object:
    """A test client of the app, signed in as the bench's admin."""
    client = app.test_client()  # type: ignore[attr-defined]
    token = re.search(
        r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
        client.get("/admin/signin").get_data(as_text=True),
    )
    assert token
    signed = client.post(
        "/admin/signin",
        data={"csrf_token": token.group(1), "email": "bench@example.org", "password": PASSWORD},
    )
    assert signed.status_code == 302, signed.status_code
    return client


def page_list(
    ids: dict[str, int | str], n: int, segment_id: int | None, deep: int | None
) -> list[tuple[str, str]]:
    """The staff pages timed, by name and URL, for a seeding of n contacts."""
    return [
        ("dashboard", "/admin/"),
        ("contacts, first page", "/admin/contacts"),
        ("contacts, page in the middle (keyset)", f"/admin/contacts?before={deep}"),
        ("search by exact email", f"/admin/contacts?q=person{n // 3:06d}@example.org"),
        ("search by email prefix", "/admin/contacts?q=person0123"),
        ("search by phone", f"/admin/contacts?q=%2B3361{n // 3:07d}"),
        ("search by name", "/admin/contacts?q=jeanne+dubois5"),
        ("search by tag", "/admin/contacts?q=%23vip"),
        ("search by name, no match", "/admin/contacts?q=zzzz"),
        ("contact page", f"/admin/contacts/{ids['middle']}"),
        ("lists and segments (sizes)", "/admin/lists"),
        ("list page", f"/admin/lists/{ids['list']}"),
        ("segment page (size)", f"/admin/segments/{segment_id}"),
        ("campaigns", "/admin/campaigns"),
        ("campaign page (report)", f"/admin/campaigns/{ids['campaign']}"),
        ("campaign progress (JSON)", f"/admin/campaigns/{ids['campaign']}/progress"),
        ("audience preview (gate over all)", f"/admin/campaigns/{ids['campaign']}/audience"),
        ("purposes", "/admin/purposes"),
        ("organisation", "/admin/organisation"),
        ("deliveries CSV export (all rows)", f"/admin/campaigns/{ids['campaign']}/deliveries.csv"),
    ]


def main() -> None:
    """Seed, sign in, time every page, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_pages")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    print(f"resetting {make_url(db_url).render_as_string(hide_password=True)}")
    _reset(db_url)
    instance = tempfile.mkdtemp(prefix="sender-bench-pages-")
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": instance,
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "ORG_NAME": "Bench SAS",
        "ORG_ADDRESS": "1 rue du Banc, Paris",
        "ORG_CONTACT_EMAIL": "contact@example.org",
    }
    settings = load_settings(env)
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    started = time.perf_counter()
    ids = seed(runtime, args.contacts, settings.hash_key)
    print(f"seeded {args.contacts:,} contacts in {time.perf_counter() - started:.0f} s")

    app = create_app({"TESTING": True}, runtime=runtime)
    client = signed_in(app)
    with runtime.Session() as session:
        segment_id = session.scalar(select(Segment.id))
        deep = session.scalar(select(Contact.id).where(Contact.public_id == ids["middle"]))
    pages = page_list(ids, args.contacts, segment_id, deep)
    print(f"\n{'page':42} {'median ms':>10} {'p95 ms':>8}  status")
    for name, url in pages:
        median, p95, status = timed(client, url)
        flag = "" if median < 200 else "  > 200 ms"
        print(f"{name:42} {median:10.1f} {p95:8.1f}  {status}{flag}")
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
