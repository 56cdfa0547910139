"""Benchmark: how long each staff page takes with 100,000 contacts on PostgreSQL.

Seeds N contacts (half of them with a consent, one in ten tagged, all on one list), a segment, and a sent
campaign with one delivery per contact (bench/seeding.py); then signs in and times each page through the WSGI app (no network:
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
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import PASSWORD, reset_database, seed_staff_pages
from sender import create_app
from sender.config import load_settings
from sender.migrate import upgrade
from sender.models import Contact, Segment
from sender.runtime import build_runtime

REPEAT = 15


def timed(client: object, url: str, repeat: int = REPEAT) -> tuple[float, float, int]:
    """Median and p95 in milliseconds over `repeat` requests (after one warm-up), and the status."""
    status = client.get(url).status_code  # type: ignore[attr-defined]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        response.get_data()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], status


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
        ("search by exact email", f"/admin/contacts?q=person{n // 3:07d}@example.org"),
        ("search by email prefix", "/admin/contacts?q=person00123"),
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
    reset_database(db_url)
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
    ids = seed_staff_pages(runtime, args.contacts)
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
