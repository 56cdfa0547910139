"""Benchmark: the cron side of requalification and retention on PostgreSQL + Redis, for N legacy contacts.

Prints, for each N: how fast `requalify run` asks (asks and delivery rows written, batches enqueued), how
fast it closes a cycle at its deadline (one transaction per silent person, erased with the keyed hash kept),
and how fast `retention run` erases contacts past retention. Sending itself is measured by
bench/send_campaign.py; here the deliveries are marked sent in one statement between the two runs.

    python bench/requalify_cycle.py                    # N = 10,000
    python bench/requalify_cycle.py --sizes 2000 20000

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/requal_bench; created and reset) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/9; flushed) choose the servers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, insert, text, update
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sender.addresses import address_hash
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import ConsentWording, Contact, Delivery, Purpose, Requalification
from sender.runtime import build_runtime
from sender.services.campaigns import requalify, requalify_cycle
from sender.services.rights import retention
from sender.tasks.queue import bind_queue

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/requal_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
HASH_KEY = "bench-hash-key-0123456789abcdef"


def _reset_database() -> None:
    url = make_url(DB_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = create_engine(DB_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    upgrade(DB_URL)


def _contacts(session, start: int, count: int, **fields: object) -> None:
    rows = []
    for i in range(start, start + count):
        email = f"bench{i}@example.org"
        rows.append(
            {
                "public_id": f"bench-{i}",
                "email": email,
                "email_hash": address_hash(HASH_KEY, email),
                "first_name": f"First{i}",
                "attributes": {},
                "source": "import",
                "status": "active",
                **fields,
            }
        )
    for at in range(0, len(rows), 5_000):
        session.execute(insert(Contact), rows[at : at + 5_000])


def run(size: int) -> None:
    """One measurement for `size` legacy contacts."""
    _reset_database()
    Redis.from_url(REDIS_URL).flushdb()
    instance = tempfile.mkdtemp(prefix="requal-bench-")
    env = {"INSTANCE_PATH": instance, "DATABASE_URL": DB_URL, "REDIS_URL": REDIS_URL, "HASH_KEY": HASH_KEY}
    runtime = bind_queue(build_runtime(load_settings(env)))
    with runtime.Session() as session:
        purpose = Purpose(slug="news", name="News", description="Monthly news.", consent_validity_days=None)
        session.add(purpose)
        session.flush()
        session.add(ConsentWording(purpose_id=purpose.id, version=1, text="Yes, send me the news."))
        _contacts(session, 0, size, is_legacy=True)
        draft = requalify.Draft("bench", "news", "Votre accord ?", "Bonjour {{ contact.first_name }}.")
        campaign = requalify.create(session, runtime.settings, draft, "user:1")
        requalify.approve(session, runtime.settings, campaign.id, "user:2", "bench")
        requalify.start(session, campaign, "user:1")
        session.commit()
        cid = campaign.id

    began = time.perf_counter()
    report = requalify_cycle.run(runtime)
    ask_seconds = time.perf_counter() - began
    again = time.perf_counter()
    second = requalify_cycle.run(runtime)
    idle_seconds = time.perf_counter() - again

    with runtime.Session() as session:
        session.execute(
            update(Delivery).where(Delivery.campaign_id == cid).values(status="sent", sent_at=utcnow())
        )
        deadline = session.get(Requalification, cid).deadline  # type: ignore[union-attr]
        session.commit()
    began = time.perf_counter()
    closed = requalify_cycle.run(runtime, now=deadline)
    close_seconds = time.perf_counter() - began

    with runtime.Session() as session:
        _contacts(session, size, size, created_at=utcnow() - timedelta(days=1200))
        session.commit()
    began = time.perf_counter()
    kept = retention.run(runtime)
    retention_seconds = time.perf_counter() - began
    runtime.engine.dispose()

    print(f"N = {size:,}")
    print(
        f"  requalify run, asking:    {report.asked:,} asked, {report.batches} batches in {ask_seconds:.2f} s "
        f"({report.asked / ask_seconds:,.0f} asks/s)"
    )
    print(f"  requalify run, again:     {second.asked} asked in {idle_seconds:.2f} s")
    erased = closed.closed.get("erased", 0)
    print(
        f"  requalify run, deadline:  {erased:,} erased in {close_seconds:.2f} s ({erased / close_seconds:,.0f}/s)"
    )
    print(
        f"  retention run:            {kept.erased:,} erased in {retention_seconds:.2f} s "
        f"({kept.erased / retention_seconds:,.0f}/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    for size in parser.parse_args().sizes:
        run(size)


if __name__ == "__main__":
    main()
