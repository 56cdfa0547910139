"""Benchmark: the live segment count (an OR of groups with attribute conditions) beside a bare count.

Seeds N contacts on a scratch SQLite file (or BENCH_DATABASE_URL), a third with company "Acme …", one in
ten tagged vip, then times `segments.preview` (count + first 10, the SQL the form's live count runs) and,
as the baseline, `SELECT count(*) FROM contacts`; prints the median and 95th percentile of each.

    python bench/segment_count.py                   # N = 100,000
    python bench/segment_count.py --contacts 10000  # a quick run
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sender.db import make_engine
from sender.migrate import upgrade
from sender.models import Contact, ContactTag
from sender.services.audience import segments

RULES = {
    "groups": [
        {
            "attributes": [
                {"field": "company", "op": "contains", "value": "acme"},
                {"field": "language", "op": "equals", "value": "fr"},
            ]
        },
        {"tags": ["vip"]},
    ]
}


def _timed(call: object, runs: int) -> tuple[float, float]:
    spent = []
    for _ in range(runs):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        spent.append((time.perf_counter() - start) * 1000)
    spent.sort()
    return statistics.median(spent), spent[int(len(spent) * 0.95) - 1]


def main() -> None:
    """Seed, time, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{folder}/bench.db")
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Contact),
            [
                {
                    "public_id": f"p{i}",
                    "email": f"person{i:06d}@example.org",
                    "locale": "fr" if i % 2 else "en",
                    "attributes": {"company": f"Acme {i}" if i % 3 == 0 else f"Globex {i}"},
                    "source": "api",
                    "status": "active",
                    "is_legacy": False,
                }
                for i in range(args.contacts)
            ],
        )
        ids = conn.execute(select(Contact.id).where(Contact.id % 10 == 0)).scalars().all()
        conn.execute(insert(ContactTag), [{"contact_id": cid, "tag": "vip"} for cid in ids])
    with Session(engine) as session:
        found = segments.preview(session, RULES)
        live = _timed(lambda: segments.preview(session, RULES), args.runs)
        bare = _timed(lambda: session.execute(text("SELECT count(*) FROM contacts")).scalar(), args.runs)
    print(f"contacts={args.contacts} members={found.count} runs={args.runs} ({engine.dialect.name})")
    print(f"live segment count + first 10  median {live[0]:8.1f} ms  p95 {live[1]:8.1f} ms")
    print(f"bare count(*) baseline         median {bare[0]:8.1f} ms  p95 {bare[1]:8.1f} ms")


if __name__ == "__main__":
    main()
