"""Benchmark: a million contacts on PostgreSQL: seeding, planning, the staff pages, and the send rate of a slice.

Seeds N contacts (default 1,000,000; half with a consent, one in ten tagged, all on one list), a segment and a
sent campaign with one delivery per contact, in a few INSERT … SELECT over generate_series (no Python loop
over rows: bench/seeding.py). Then prints:
- the migrations' time (with --reuse, their backfills over the rows an earlier run seeded) and the seeding time;
- planning a campaign to the whole list (the consent gate over N, in the launch's chunks, rolled back):
  its time and the peak of the memory Python allocated meanwhile (tracemalloc);
- each staff page's median and 95th percentile over --repeat requests through the WSGI app (server time);
  the deliveries' CSV export (streamed) by the time to its first rows and to its end;
- with --send-slice K (default 0: skipped), the send rate of 4 `worker.py` processes at 20 ms of relay
  latency over K consenting contacts, and the time N/2 (the consenting half) would take at that rate:
  an extrapolation, stated as such.

    python bench/million.py                           # N = 1,000,000
    python bench/million.py --contacts 200000 --send-slice 10000
    python bench/million.py --reuse --no-plan         # the pages again, on the database seeded last time

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_million; its schema is dropped
and rebuilt) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/13) choose the servers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import PASSWORD, reset_database, seed_staff_pages
from bench.staff_pages import page_list, signed_in, timed
from sender import create_app
from sender.channels.base import get_channel
from sender.config import load_settings
from sender.migrate import upgrade
from sender.models import Campaign, Contact, ContactList, Delivery, Segment
from sender.runtime import build_runtime
from sender.services.accounts import users
from sender.services.campaigns import planning, rollout


def plan_all(rt: Any, list_id: int, purpose_id: int) -> tuple[float, float, int]:
    """Plan a campaign to the whole list in chunks, rolled back: (seconds, peak MB Python allocated, rows)."""
    tracemalloc.start()
    with rt.Session() as session:
        campaign = Campaign(
            name="Planned",
            purpose_id=purpose_id,
            channel="email",
            subject="s",
            body_text="b",
            lists=[session.get(ContactList, list_id)],
        )
        session.add(campaign)
        session.flush()
        channel = get_channel("email")
        started = time.perf_counter()
        after, first_batch, limit = 0, 0, rollout.FIRST_CHUNK
        while True:
            chunk = planning.plan_chunk(
                session,
                campaign,
                [list_id],
                campaign.created_at,
                rt.settings.send_batch_size,
                channel=channel,
                after=after,
                limit=limit,
                first_batch=first_batch,
            )
            if chunk.last_contact_id is None:
                break
            after, first_batch, limit = chunk.last_contact_id, chunk.batches.stop, rollout.NEXT_CHUNK
        planned = session.scalar(select(func.count()).where(Delivery.campaign_id == campaign.id)) or 0
        elapsed = time.perf_counter() - started
        session.rollback()
    grown = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return elapsed, grown, planned


def seeded_ids(rt: Any, n: int) -> dict[str, Any]:
    """--reuse: the ids of a database seeded by an earlier run (seeding.seed_staff_pages)."""
    with rt.engine.connect() as conn:
        ids = conn.execute(
            text(
                "SELECT (SELECT purpose_id FROM campaigns WHERE name = 'Bench campaign') AS purpose,"
                " (SELECT id FROM lists WHERE name = 'Everyone') AS list,"
                " (SELECT id FROM campaigns WHERE name = 'Bench campaign') AS campaign"
            )
        ).one()
    return {**ids._asdict(), "middle": f"bench{n // 2:07d}"}


def streamed(client: Any, url: str) -> tuple[float, float, int]:
    """A streamed download: milliseconds to its first chunk, to its end, and the status."""
    start = time.perf_counter()
    response = client.get(url, buffered=False)
    chunks = iter(response.response)
    next(chunks, b"")
    first = (time.perf_counter() - start) * 1000
    for _ in chunks:
        pass
    response.close()
    return first, (time.perf_counter() - start) * 1000, response.status_code


def send_slice(rt: Any, settings_env: dict[str, str], k: int) -> float:
    """Messages per second of 4 workers at 20 ms relay latency over k consenting contacts (their own list)."""
    # Imported here: the message check's forkserver preloads __main__, and the send benchmark's imports
    # (RQ, threads) made each of its children miss the check's time limit on a loaded host.
    import psutil
    from redis import Redis

    from bench.send_campaign import free_port, send_run

    with rt.engine.begin() as conn:
        list_id = conn.scalar(
            # Named by the time: a --reuse run adds its own slice beside an earlier one.
            text("INSERT INTO lists (name, description, created_at) VALUES (:n, '', now()) RETURNING id"),
            {"n": f"Slice {time.time():.0f}"},
        )
        conn.execute(
            text(
                "INSERT INTO list_members (list_id, contact_id, added_at) SELECT :l, id, now() FROM contacts"
                " WHERE id % 2 = 0 ORDER BY id LIMIT :k"
            ),
            {"l": list_id, "k": k},
        )
    with rt.Session() as session:
        marketer = users.create_user(session, f"marketer{time.time():.0f}@example.org", "marketer", PASSWORD)
        token = users.issue_token(session, marketer).value
        session.commit()
    web_port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from sender import create_app; from werkzeug.serving import run_simple; "
            f"run_simple('127.0.0.1', {web_port}, create_app(), threaded=True)",
        ],
        env=settings_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        redis = Redis.from_url(settings_env["REDIS_URL"])
        run = send_run(settings_env, base, token, list_id, k, 4, redis, psutil.Process(web.pid), {}, 20.0)
    finally:
        web.terminate()
        web.wait(timeout=30)
    return run.rate


def main() -> None:
    """Seed, plan, time the pages, optionally send a slice; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--send-slice", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="keep the database an earlier run seeded")
    parser.add_argument("--no-plan", action="store_true", help="skip the planning measurement")
    parser.add_argument("--no-pages", action="store_true", help="skip the staff pages")
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_million")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    if not args.reuse:
        reset_database(db_url)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="sender-bench-million-"),
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "PUBLIC_BASE_URL": "https://sender.example",
        "ORG_NAME": "Bench SAS",
        "ORG_ADDRESS": "1 rue du Banc, Paris",
        "ORG_CONTACT_EMAIL": "contact@example.org",
        "EMAIL_FROM": "news@example.org",
        "LOG_LEVEL": "WARNING",
    }
    settings = load_settings(env)
    started = time.perf_counter()
    upgrade(settings.database_url)
    print(
        f"migrations (their backfills over the rows already there) in {time.perf_counter() - started:.1f} s"
    )
    rt = build_runtime(settings)
    if args.reuse:
        ids = seeded_ids(rt, args.contacts)
    else:
        started = time.perf_counter()
        ids = seed_staff_pages(rt, args.contacts)
        print(f"seeded {args.contacts:,} contacts (half consenting) in {time.perf_counter() - started:.0f} s")

    if not args.no_plan:
        seconds, grown, planned = plan_all(rt, ids["list"], ids["purpose"])
        print(
            f"planning {planned:,} deliveries: {seconds:.1f} s, peak Python allocations meanwhile {grown:.1f} MB"
        )

    if not args.no_pages:
        client = signed_in(create_app({"TESTING": True}, runtime=rt))
        with rt.Session() as session:
            segment_id = session.scalar(select(Segment.id))
            deep = session.scalar(select(Contact.id).where(Contact.public_id == ids["middle"]))
        print(f"\n{'page':42} {'median ms':>10} {'p95 ms':>8}  status")
        for name, url in page_list(ids, args.contacts, segment_id, deep):
            if url.endswith(".csv"):
                # Streamed: the page answers with its first rows; the whole download is the export's own time.
                first, whole, status = streamed(client, url)
                flag = "" if first < 300 else "  > 300 ms"
                print(
                    f"{name + ', first bytes / whole':42} {first:10.1f} {whole:8.1f}  {status}{flag}",
                    flush=True,
                )
                continue
            median, p95, status = timed(client, url, args.repeat)
            flag = "" if median < 300 else "  > 300 ms"
            print(f"{name:42} {median:10.1f} {p95:8.1f}  {status}{flag}", flush=True)

    if args.send_slice:
        rate = send_slice(rt, env, args.send_slice)
        half = args.contacts // 2
        print(
            f"\n4 workers, 20 ms relay latency: {rate:.0f} messages/s over {args.send_slice:,} messages; "
            f"the {half:,} consenting contacts would take {half / rate / 60:.0f} min at that rate "
            "(extrapolated, not measured)"
        )
    rt.engine.dispose()


if __name__ == "__main__":
    main()
