"""Benchmark: tracked-link clicks per second through /r/<token>, beside a bare redirect, and the report's
figures at 1M click events.

Half the clicks follow per-person links of contacts with tracking consent (token checked, delivery and
consent read, event inserted, the retention clock moved through interactions.record), half follow the
campaign-level link (token checked, event inserted). Every click comes from a visitor of its own (its own
user agent and address), an hour after delivery: a reader's click, not a scanner's. The clients, each on one
keep-alive connection, hit the app served as the README serves it (gunicorn, 2 workers x 4 threads); the
same clients then hit a gunicorn app whose only route answers the same 302, the bare baseline. Then 1M
click events are inserted for one campaign and the campaign report's figures (services/engagement/figures)
are timed, read from the events, then again once the nightly rollup (`sender retention run`) has counted the
days that have ended.

    python bench/redirects.py                          # 20,000 clicks, 50 clients, 1M events
    python bench/redirects.py --clicks 5000 --events 100000

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_redirects; its schema is
dropped and rebuilt) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; flushed) choose the servers.
The app runs behind one proxy (PROXY_HOPS=1, as in production) and every click carries its visitor's own
address in X-Forwarded-For, so the public rate limit (its default) counts each visitor apart.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from flask import Flask, redirect
from flask.typing import ResponseReturnValue
from redis import Redis
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_audience
from bench.webhooks import THREADS, WORKERS, _serve, _stop
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import Campaign
from sender.runtime import build_runtime
from sender.services.engagement import figures, links, retention

TARGETS = ("https://shop.example/new", "https://shop.example/sale")


def bare_app() -> Flask:
    """The bare baseline: a route that only redirects, served by the same gunicorn set-up."""
    app = Flask("bare")

    @app.get("/r/<token>")
    def follow(token: str) -> ResponseReturnValue:
        return redirect(TARGETS[0], 302)

    return app


def _get_all(
    port: int, paths: list[tuple[str, str, str]], clients: int
) -> tuple[float, Counter[int], list[float]]:
    """GET every path from `clients` threads on keep-alive connections; seconds, statuses, latencies (s)."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [paths[i::clients] for i in range(clients)]
    start = threading.Barrier(clients + 1)

    def client(share: list[tuple[str, str, str]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        seen: Counter[int] = Counter()
        own: list[float] = []
        start.wait()
        for path, agent, address in share:
            began = time.perf_counter()
            connection.request("GET", path, headers={"User-Agent": agent, "X-Forwarded-For": address})
            answer = connection.getresponse()
            answer.read()
            own.append(time.perf_counter() - began)
            seen[answer.status] += 1
        connection.close()
        with lock:
            statuses.update(seen)
            latencies.extend(own)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, statuses, latencies


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    """Seed, serve, click, print; then time the figures at many events."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    db_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_redirects"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    reset_database(db_url)
    Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="sender-bench-redirects-"),
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "ORG_NAME": "Bench SAS",
        "ORG_ADDRESS": "1 rue du Banc, Paris",
        "ORG_CONTACT_EMAIL": "contact@bench.example",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        # Behind one proxy, as in production: each visitor's address is its own, and so is its rate limit.
        "PROXY_HOPS": "1",
        "LOG_LEVEL": "WARNING",
    }
    settings = load_settings(env)
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    people = args.clicks // 2
    # The seeded purpose, which every contact granted, is the tracking consent; the newsletter is another.
    tracking_id, _ = seed_audience(runtime, people, "email")
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE purposes SET kind = 'tracking' WHERE id = :p"), {"p": tracking_id})
        news_id = conn.scalar(
            text(
                "INSERT INTO purposes (slug, name, description, legal_basis, kind, retention_days,"
                " consent_validity_days, requires_double_opt_in, data_categories, processors, transfers,"
                " created_at) VALUES ('news', 'News', 'News', 'consent', 'marketing', 1095, 1095, false,"
                " '[]', '[]', '[]', now()) RETURNING id"
            )
        )
    html = "".join(f'<p><a href="{url}">{url}</a></p>' for url in TARGETS)
    with runtime.Session() as session:
        row = Campaign(
            name="bench", purpose_id=news_id, channel="email", kind="marketing", subject="s", body_html=html,
            body_text="b", status="sent", tracking_mode="per_person",
        )  # fmt: skip
        session.add(row)
        session.flush()
        link_ids = links.ensure(session, row.id, None, [html], settings.public_base_url)
        session.commit()
        campaign = row.id
    with runtime.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO deliveries (campaign_id, contact_id, batch_no, attempts, status, sent_at, claimed_at,"
                " created_at) SELECT :c, id, 0, 1, 'sent', now() - interval '1 hour', now(), now() FROM contacts"
            ),
            {"c": campaign},
        )
        deliveries = [int(i) for i in conn.scalars(text("SELECT id FROM deliveries ORDER BY id"))]
        conn.execute(text("ANALYZE"))
    tokens = runtime.tokens
    first, second = (link_ids[url] for url in TARGETS)
    paths = []
    for i, delivery in enumerate(deliveries):
        paths.append(
            (
                f"/r/{tokens.dumps('click', {'l': first, 'd': delivery})}",
                f"Mozilla/5.0 (bench p{i}) Firefox/128.0",
                f"10.1.{i // 250}.{i % 250 + 1}",
            )
        )
        paths.append(
            (
                f"/r/{tokens.dumps('click', {'l': second})}",
                f"Mozilla/5.0 (bench a{i}) Firefox/128.0",
                f"10.2.{i // 250}.{i % 250 + 1}",
            )
        )
    print(
        f"{len(paths):,} clicks (half per person with tracking consent, half aggregate), {args.clients} clients,"
        f" gunicorn {WORKERS} workers x {THREADS} threads"
    )
    results = {}
    for name, spec in (
        ("bare redirect", "bench.redirects:bare_app()"),
        ("tracked redirect", "sender:create_app()"),
    ):
        process, port = _serve(spec, env)
        try:
            if name == "tracked redirect":
                # Warm-up: each worker's first requests compile and connect; the figures come after.
                _get_all(port, paths[:200], 10)
            results[name] = _get_all(port, paths, args.clients)
        finally:
            _stop(process)
    with runtime.engine.connect() as conn:
        recorded = conn.scalar(text("SELECT count(*) FROM engagement_events WHERE classification = 'human'"))
    print(f"\n{'run':18} {'clicks/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'seconds':>8}  statuses")
    for name, (seconds, statuses, latencies) in results.items():
        print(
            f"{name:18} {len(paths) / seconds:9.0f} {_percentile(latencies, 50) * 1000:7.1f}"
            f" {_percentile(latencies, 99) * 1000:7.1f} {seconds:8.1f}  {dict(statuses)}"
        )
    print(f"human clicks recorded: {recorded:,} (warm-up included)")

    # The report's figures at many events: one campaign, spread over 30 days and 50,000 visitors a day.
    with runtime.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO engagement_events (campaign_id, link_id, kind, classification, occurred_at, visitor_key)"
                " SELECT :c, CASE WHEN i % 2 = 0 THEN :a ELSE :b END, 'click',"
                " CASE WHEN i % 20 = 0 THEN 'scanner' ELSE 'human' END,"
                " now() - (i % 30) * interval '1 day' - (i % 86400) * interval '1 second',"
                " md5('v' || (i % 50000)) FROM generate_series(1, :n) AS i"
            ),
            {"c": campaign, "a": first, "b": second, "n": args.events},
        )
        conn.execute(text("ANALYZE engagement_events"))

    def timed() -> tuple[float, figures.Engagement, int]:
        with runtime.Session() as session:
            timings = []
            for _ in range(3):
                began = time.perf_counter()
                summary = figures.summary(session, campaign)
                series = figures.unique_clicks_over_time(session, campaign)
                timings.append(time.perf_counter() - began)
        return min(timings), summary, len(series)

    raw_seconds, raw, days = timed()
    print(
        f"\nreport figures at {args.events:,} more click events, read from the events: {raw_seconds * 1000:.0f} ms"
        f" (best of 3; {raw.clicks:,} clicks, {raw.unique_clicks:,} unique, {days} days)"
    )
    # The nightly `sender retention run` rolls up every whole day that has ended: then only today is raw.
    began = time.perf_counter()
    with runtime.Session() as session:
        rolled = retention.rollup(session, utcnow(), lambda: True)
        session.commit()
    rollup_seconds = time.perf_counter() - began
    with runtime.engine.connect() as conn:
        conn.execute(text("ANALYZE engagement_rollups"))
    seconds, summary, days = timed()
    assert summary == raw, "the rolled-up figures differ from the events'"
    print(
        f"after the nightly rollup ({rolled:,} events of past days counted in {rollup_seconds:.1f} s):"
        f" {seconds * 1000:.0f} ms (best of 3; the same figures)"
    )
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
