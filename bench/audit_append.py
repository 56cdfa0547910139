"""Benchmark: withdrawals per second from 50 concurrent clients, with the audit chain as built and stubbed.

Each client is a thread that withdraws its own contacts one at a time, each withdrawal one unit of work
(consent event, consent state, audit event, commit), as the one-click unsubscribe does. The same run is
made twice on fresh data: once with `audit.record` as built, once with the chain write stubbed out (no
audit row at all), and the ratio is printed. The chain is verified after the audited run.

    python bench/audit_append.py                 # 50 clients x 40 withdrawals
    python bench/audit_append.py --clients 20 --each 20
    python bench/audit_append.py --rounds 5      # more alternating pairs on a busy machine

The two runs alternate for `--rounds` pairs (default 3) and the median of the pairs' ratios is printed,
because on a shared machine one pair alone swings with whatever else runs.

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_audit; its schema is dropped
and rebuilt) chooses the database; `--sqlite` runs on a SQLite file instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database
from sender import work
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import AuditEvent, Contact, Purpose
from sender.runtime import Runtime, build_runtime
from sender.services.consent import withdrawal
from sender.services.records import audit


def _runtime(url: str, instance: str) -> Runtime:
    settings = load_settings(
        {"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret-key-0123456789abcdef"}
    )
    upgrade(settings.database_url)
    return build_runtime(settings)


def _seed(runtime: Runtime, n: int) -> int:
    """n contacts and one purpose; the purpose id."""
    with runtime.Session() as session:
        purpose = Purpose(slug="news", name="Newsletter", description="News", consent_validity_days=1095)
        session.add(purpose)
        session.commit()
        purpose_id = purpose.id
    now = utcnow()
    with runtime.engine.begin() as conn:
        conn.execute(
            insert(Contact),
            [
                {
                    "public_id": f"bench{i:06d}",
                    "email": f"person{i:06d}@example.org",
                    "email_hash": f"{i:064x}",
                    "locale": "fr",
                    "attributes": {},
                    "source": "import",
                    "status": "active",
                    "is_legacy": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
    return purpose_id


def _run(runtime: Runtime, purpose_id: int, clients: int, each: int) -> float:
    """Withdrawals per second over all clients."""
    with runtime.Session() as session:
        ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))
    errors: list[BaseException] = []

    def client(mine: list[int]) -> None:
        try:
            for contact_id in mine:
                with work.unit(runtime.Session, "bench withdrawal") as session:
                    contact = session.get(Contact, contact_id)
                    purpose = session.get(Purpose, purpose_id)
                    assert contact is not None and purpose is not None
                    withdrawal.withdraw(
                        session, contact, purpose, "email", source="one_click", mechanism="one_click"
                    )
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [
        threading.Thread(target=client, args=(ids[k * each : (k + 1) * each],)) for k in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return clients * each / elapsed


def _measure(
    url: str | None, clients: int, each: int, stub: bool
) -> tuple[float, float, int | None, int, int]:
    """One run on fresh data: (withdrawals/s, process CPU ms per withdrawal, first broken audit row or None,
    audit rows, left unsealed)."""
    with tempfile.TemporaryDirectory() as instance:
        db_url = url or f"sqlite:///{instance}/bench.db"
        if url:
            reset_database(url)
        runtime = _runtime(db_url, instance)
        purpose_id = _seed(runtime, clients * each)
        original: Callable[..., Any] = audit.record
        if stub:
            audit.record = lambda *args, **kwargs: None  # type: ignore[assignment]
        cpu = time.process_time()
        try:
            rate = _run(runtime, purpose_id, clients, each)
        finally:
            audit.record = original  # type: ignore[assignment]
        time.sleep(0.5)  # the background sealer's last round
        # Every thread of the process, the sealer included: steadier than the rate on a busy machine.
        cpu_ms = (time.process_time() - cpu) * 1000 / (clients * each)
        with runtime.Session() as session:
            unsealed = session.query(AuditEvent).where(AuditEvent.seq.is_(None)).count()
            audit.seal(session)
            session.commit()
            broken = audit.verify_chain(session)
            rows = session.query(AuditEvent).count()
        runtime.engine.dispose()
        return rate, cpu_ms, broken, rows, unsealed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--each", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="alternating pairs of runs")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    args = parser.parse_args()
    url = None
    if not args.sqlite:
        url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_audit")
    backend = "sqlite" if args.sqlite else "postgresql"
    print(f"{args.clients} clients x {args.each} withdrawals on {backend}")
    ratios = []
    for n in range(1, args.rounds + 1):
        stub_rate, stub_cpu, _, stub_rows, _ = _measure(url, args.clients, args.each, stub=True)
        print(
            f"  round {n}: chain stubbed out : {stub_rate:8.1f} withdrawals/s, {stub_cpu:.2f} ms CPU each"
            f" ({stub_rows} audit rows)"
        )
        rate, cpu_ms, broken, rows, unsealed = _measure(url, args.clients, args.each, stub=False)
        verdict = "verifies" if broken is None else f"BROKEN at row {broken}"
        print(
            f"  round {n}: audit as built    : {rate:8.1f} withdrawals/s, {cpu_ms:.2f} ms CPU each"
            f" ({rows} audit rows; chain {verdict})"
        )
        print(f"  round {n}: unsealed 0.5 s after the last commit: {unsealed}; ratio {rate / stub_rate:.2f}x")
        ratios.append(rate / stub_rate)
    print(f"  median ratio of {args.rounds} rounds: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
