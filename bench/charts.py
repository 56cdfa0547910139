"""Benchmark: the charts of the campaign report and the dashboard over a million deliveries on PostgreSQL.

Seeds N contacts with one sent campaign (bench/seeding.py's staff-page seeding: half the contacts
consenting, one delivery each), then spreads the messages over three days, the consents over twelve weeks
and adds a withdrawal through the campaign's link for one contact in fifty. Prints the median and worst of --repeat
runs of each query of services/records/trends.py and of each page's charts drawn (queries and pygal),
beside a bare baseline: counting the campaign's deliveries by status, the query the report already runs.

    python bench/charts.py                        # N = 1,000,000
    python bench/charts.py --contacts 200000
    python bench/charts.py --reuse                # the rows of the last run, after a migration

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_charts; its schema is dropped
and rebuilt) chooses the database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_staff_pages
from sender import create_app
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import Campaign, Delivery
from sender.runtime import build_runtime
from sender.services.campaigns import lifecycle
from sender.services.records import trends
from sender.web.admin import report_charts

SPREAD = [
    "UPDATE deliveries SET sent_at = now() - make_interval(mins => (contact_id % 4320)) WHERE sent_at IS NOT NULL",
    "UPDATE consent_events SET occurred_at = now() - make_interval(hours => (contact_id % 2016))",
    """INSERT INTO consent_events (contact_id, purpose_id, channel, action, occurred_at, source, mechanism,
       actor, evidence, collection_point)
       SELECT contact_id, purpose_id, channel, 'withdraw', now() - make_interval(mins => (contact_id % 4000)),
              'unsubscribe_page', 'link', 'contact', '{}', 'campaign:' || :campaign
       FROM consent_events WHERE contact_id % 50 = 0""",
]


def _timed(run: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and worst of `repeat` runs, in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--reuse", action="store_true", help="time the rows a previous run seeded (migrated first)"
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_charts")
    if not args.reuse:
        reset_database(url)
    instance = tempfile.mkdtemp(prefix="bench-charts-")
    settings = load_settings(
        {"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret-key-0123456789abcdef"}
    )
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    if args.reuse:
        with rt.Session() as session:
            ids = {"campaign": session.scalar(select(func.min(Campaign.id)))}
    else:
        started = time.perf_counter()
        ids = seed_staff_pages(rt, args.contacts)
        for statement in SPREAD:
            with rt.engine.begin() as conn:
                conn.execute(text(statement), {"campaign": ids["campaign"]})
        print(f"seeded {args.contacts:,} contacts and deliveries in {time.perf_counter() - started:.1f} s")
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))

    app = create_app({"TESTING": True}, runtime=rt)
    cid, now = ids["campaign"], utcnow()
    with rt.Session() as session, app.test_request_context("/admin/"):
        campaign = session.get(Campaign, cid)
        assert campaign is not None
        sent = session.scalar(
            select(func.count()).where(Delivery.campaign_id == cid, Delivery.sent_at.is_not(None))
        )
        withdrawn = trends.reactions(session, cid).unsubscribes
        print(f"campaign: {sent:,} messages sent over 3 days, {withdrawn:,} withdrawals through its links")
        report = lifecycle.report_for(session, cid)
        cases: list[tuple[str, Callable[[], Any]]] = [
            ("baseline: deliveries by status (report_for)", lambda: lifecycle.report_for(session, cid)),
            ("trends.sent_over_time", lambda: trends.sent_over_time(session, cid)),
            ("trends.reactions", lambda: trends.reactions(session, cid)),
            ("trends.consents_per_week", lambda: trends.consents_per_week(session, now)),
            ("trends.audience_growth", lambda: trends.audience_growth(session, now)),
            ("trends.sent_per_day", lambda: trends.sent_per_day(session, now)),
            ("trends.unsubscribe_rates", lambda: trends.unsubscribe_rates(session)),
            ("report's charts (queries + pygal)", lambda: report_charts.campaign(session, campaign, report)),
            ("dashboard's charts (queries + pygal)", lambda: report_charts.dashboard(session, now)),
        ]
        print(f"{'':45} {'median ms':>10} {'worst ms':>10}")
        for name, run in cases:
            median, worst = _timed(run, args.repeat)
            print(f"{name:45} {median:10.1f} {worst:10.1f}")


if __name__ == "__main__":
    main()
