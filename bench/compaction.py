"""Benchmark: do batched deletes keep `deliveries` and its indexes flat on PostgreSQL, cycle after cycle?

Simulates weeks of sending: each cycle adds a campaign with one delivery per contact (created a week after the
previous one), then compacts what is older than --keep-days (services/campaigns/compaction.py, the same code as
`sender retention run`), then runs a plain VACUUM (what autovacuum does on its own, run here so that each
cycle is measured at the same point). Prints per cycle: live rows, the table's size, its indexes' size, the
compacted rows and the time compaction took.

    python bench/compaction.py                    # 20,000 contacts, 30 weekly cycles, 70 days kept
    python bench/compaction.py --contacts 5000 --cycles 16

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench; created and reset).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_audience
from sender import work
from sender.config import load_settings
from sender.migrate import upgrade
from sender.runtime import build_runtime
from sender.services.campaigns import compaction

START = datetime(2026, 1, 5)


def add_week(rt: object, purpose_id: int, week: int) -> None:
    """A sent campaign of this week, with one delivery per contact (provider ids as a relay returns them)."""
    at = START + timedelta(days=7 * week)
    with rt.engine.begin() as conn:  # type: ignore[attr-defined]
        campaign_id = conn.scalar(
            text(
                "INSERT INTO campaigns (name, purpose_id, channel, kind, subject, body_html, body_text, status,"
                " created_by, created_at) VALUES (:n, :p, 'email', 'marketing', 's', '', 'b', 'sent', 'bench',"
                " :at) RETURNING id"
            ),
            {"n": f"week {week}", "p": purpose_id, "at": at},
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (campaign_id, contact_id, batch_no, status, attempts, claimed_at,"
                " started_at, sent_at, provider_id, created_at) SELECT :c, id, id / 500, 'sent', 1, :at, :at,"
                " :at, '250 2.0.0 Ok: queued as ' || md5(id::text), :at FROM contacts"
            ),
            {"c": campaign_id, "at": at},
        )


def sizes(rt: object) -> tuple[int, int, int]:
    """(live rows, table bytes, index bytes) of deliveries."""
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM deliveries), pg_relation_size('deliveries'),"
                " pg_indexes_size('deliveries')"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def index_sizes(rt: object) -> dict[str, int]:
    """Bytes of each index of deliveries."""
    with rt.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            text(
                "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes"
                " WHERE relname = 'deliveries' ORDER BY indexrelname"
            )
        ).all()
    return {name: int(size) for name, size in rows}


def vacuum(rt: object) -> None:
    """A plain VACUUM (not FULL): frees dead rows' space for reuse, as autovacuum does."""
    with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # type: ignore[attr-defined]
        conn.execute(text("VACUUM deliveries"))


def main() -> None:
    """Run the cycles and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--cycles", type=int, default=30)
    parser.add_argument("--keep-days", type=int, default=70)
    parser.add_argument("--batch", type=int, default=compaction.BATCH)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench")
    reset_database(db_url)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
    }
    settings = load_settings(env)
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    purpose_id, _ = seed_audience(rt, args.contacts, "email")
    print(
        f"{args.contacts} contacts, one campaign a week, {args.keep_days} days kept, batches of {args.batch}"
    )
    print(
        f"{'cycle':>5} | {'rows':>9} | {'table MB':>8} | {'indexes MB':>10} | {'compacted':>9} | {'seconds':>7}"
    )
    steady: dict[str, int] = {}
    for week in range(args.cycles):
        add_week(rt, purpose_id, week)
        started = time.perf_counter()
        with work.unit(rt.Session, "compaction") as session:

            def commit(session: object = session) -> bool:
                work.commit(session, "compaction batch")  # type: ignore[arg-type]
                return True

            done = compaction.compact(
                session, args.keep_days, START + timedelta(days=7 * week, hours=1), commit, args.batch
            )
        elapsed = time.perf_counter() - started
        vacuum(rt)
        rows, table, indexes = sizes(rt)
        print(
            f"{week:>5} | {rows:>9} | {table / 1e6:>8.1f} | {indexes / 1e6:>10.1f} | {done.compacted:>9} | "
            f"{elapsed:>7.2f}"
        )
        if week * 7 == args.keep_days + 7:  # the first cycle that compacted: the steady state begins
            steady = index_sizes(rt)
    print("\nindex sizes in MB, first compacting cycle -> last:")
    for name, size in index_sizes(rt).items():
        print(f"  {name:40} {steady.get(name, 0) / 1e6:6.1f} -> {size / 1e6:6.1f}")
    rt.engine.dispose()


if __name__ == "__main__":
    main()
