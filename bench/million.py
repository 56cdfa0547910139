"""Benchmark: a million contacts on PostgreSQL: seeding, planning, the staff pages, and the send rate of a slice.

Seeds N contacts (default 1,000,000; half with a consent, one in ten tagged, all on one list), a segment and a
sent campaign with one delivery per contact, in a few INSERT … SELECT over generate_series (no Python loop
over rows). Then prints:
- the seeding time;
- planning a campaign to the whole list (the consent gate over N, in the launch's chunks, rolled back):
  its time and the peak of the memory Python allocated meanwhile (tracemalloc);
- each staff page's median and 95th percentile over --repeat requests through the WSGI app (server time);
- with --send-slice K (default 0: skipped), the send rate of 4 `worker.py` processes at 20 ms of relay
  latency over K consenting contacts, and the time N/2 (the consenting half) would take at that rate:
  an extrapolation, stated as such.

    python bench/million.py                           # N = 1,000,000
    python bench/million.py --contacts 200000 --send-slice 10000

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_million; its schema is dropped
and rebuilt) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/13) choose the servers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from redis import Redis
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.send_campaign import free_port, send_run
from bench.staff_pages import PASSWORD, _reset, page_list, signed_in
from sender import create_app
from sender.channels.base import get_channel
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import Campaign, Contact, ContactList, Delivery, Segment
from sender.runtime import build_runtime
from sender.services.accounts import users
from sender.services.campaigns import planning, rollout

SEED = [
    # Contacts: names cycle as in bench/staff_pages.py, so the same searches find the same shapes of rows.
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


def seed(rt: Any, n: int) -> dict[str, Any]:
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
                " created_at) VALUES ('newsletter', 'Newsletter', 'News', 'consent', 1095, 1095, false, '[]', '[]',"
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
    for statement in SEED:
        with rt.engine.begin() as conn:
            conn.execute(text(statement), params)
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {**ids, "middle": f"bench{n // 2:07d}"}


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


def timed(client: Any, url: str, repeat: int) -> tuple[float, float, int]:
    """Median and p95 in milliseconds over `repeat` requests (after one warm-up), and the status."""
    status = client.get(url).status_code
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url).get_data()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], status


def send_slice(rt: Any, settings_env: dict[str, str], k: int) -> float:
    """Messages per second of 4 workers at 20 ms relay latency over k consenting contacts (their own list)."""
    with rt.engine.begin() as conn:
        list_id = conn.scalar(
            text("INSERT INTO lists (name, description, created_at) VALUES ('Slice', '', now()) RETURNING id")
        )
        conn.execute(
            text(
                "INSERT INTO list_members (list_id, contact_id, added_at) SELECT :l, id, now() FROM contacts"
                " WHERE id % 2 = 0 ORDER BY id LIMIT :k"
            ),
            {"l": list_id, "k": k},
        )
    with rt.Session() as session:
        marketer = users.create_user(session, "marketer@example.org", "marketer", PASSWORD)
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
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_million")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    _reset(db_url)
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
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    started = time.perf_counter()
    ids = seed(rt, args.contacts)
    print(f"seeded {args.contacts:,} contacts (half consenting) in {time.perf_counter() - started:.0f} s")

    seconds, grown, planned = plan_all(rt, ids["list"], ids["purpose"])
    print(
        f"planning {planned:,} deliveries: {seconds:.1f} s, peak Python allocations meanwhile {grown:.1f} MB"
    )

    client = signed_in(create_app({"TESTING": True}, runtime=rt))
    with rt.Session() as session:
        segment_id = session.scalar(select(Segment.id))
        deep = session.scalar(select(Contact.id).where(Contact.public_id == ids["middle"]))
    print(f"\n{'page':42} {'median ms':>10} {'p95 ms':>8}  status")
    for name, url in page_list(ids, args.contacts, segment_id, deep):
        median, p95, status = timed(client, url.replace("person", "person0"), args.repeat)
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
