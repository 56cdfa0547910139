"""Benchmark: bounce and complaint reports through the IMAP door (`sender bounces fetch` against a real
dovecot, tests/imap_server.py), beside two bare baselines in the same run: parsing alone (no IMAP, no
database) and an IMAP fetch alone (no parsing, no database).

N reports (default 10,000) are made from the samples of tests/fixtures/bounces (Postfix and Gmail DSNs,
an Exim bounce read by flufl.bounce, an ARF complaint and a soft bounce, in turn), each returned to the
VERP address of its own delivery of a sent campaign, and appended to the mailbox. The timed part is the
command a deployment's cron runs, from start to exit: read, apply (suppressions, statuses, withdrawals),
commit, move each message to the processed folder.

    python bench/bounces.py              # N = 10,000
    python bench/bounces.py --n 1000     # a quick run

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_bounces; created and reset)
chooses the database. Needs dovecot (Debian's dovecot-imapd).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_sent_campaign
from sender.config import load_settings
from sender.migrate import upgrade
from sender.runtime import build_runtime
from sender.services.deliverability import intake, verp
from tests.imap_server import DovecotServer

SAMPLES = ROOT / "tests" / "fixtures" / "bounces"
ROTATION = (
    "postfix_hard.eml",
    "gmail_hard.eml",
    "exim_hard.eml",
    "arf_abuse.eml",
    "postfix_soft_expired.eml",
)
SENDER = str(Path(sys.executable).parent / "sender")


def reports(settings, delivery_ids: list[int]) -> list[bytes]:  # type: ignore[no-untyped-def]
    """One report per delivery, each with its own Message-ID, CRLF line ends."""
    templates = [(SAMPLES / name).read_bytes() for name in ROTATION]
    out = []
    for n, delivery_id in enumerate(delivery_ids):
        address = verp.envelope_sender(settings, delivery_id)
        assert address is not None
        data = templates[n % len(templates)].replace(b"@@VERP@@", address.encode())
        data = data.replace(b"Message-Id: <", f"Message-Id: <bench{n}.".encode(), 1)
        data = data.replace(b"Message-ID: <", f"Message-ID: <bench{n}.".encode(), 1)
        out.append(b"\r\n".join(data.splitlines()) + b"\r\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_bounces")
    reset_database(url)
    instance = Path(tempfile.mkdtemp(prefix="sender-bench-bounces-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "EMAIL_FROM": "news@exemple.test",
        "BOUNCE_DOMAIN": "bounces.exemple.test",
    }
    settings = load_settings(env)
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    messages = reports(settings, seed_sent_campaign(rt, args.n)[1])

    started = time.perf_counter()
    for data in messages:
        intake.feedback_of(settings, data, "imap")
    parse_rate = args.n / (time.perf_counter() - started)

    with DovecotServer() as server:
        with server.mailbox() as box:
            for data in messages:
                box.append(data, "INBOX")
            started = time.perf_counter()
            fetched = sum(1 for _ in box.fetch(mark_seen=False, bulk=200))
            fetch_rate = fetched / (time.perf_counter() - started)
        started = time.perf_counter()
        done = subprocess.run(
            [SENDER, "bounces", "fetch"],
            env={**env, "BOUNCE_IMAP_URL": server.url},
            capture_output=True,
            text=True,
            check=True,
        )
        door_seconds = time.perf_counter() - started
        with server.mailbox() as box:
            left = len(box.uids())
    with rt.engine.connect() as conn:
        bounced = conn.scalar(text("SELECT count(*) FROM deliveries WHERE status = 'bounced'"))
        suppressed = conn.scalar(text("SELECT count(*) FROM suppressions"))
        withdrawn = conn.scalar(text("SELECT count(*) FROM consent_events WHERE source = 'complaint'"))
    rt.engine.dispose()

    print(f"reports: {args.n} ({', '.join(ROTATION)} in turn); database: {url.rsplit('/', 1)[-1]}")
    print(f"  sender bounces fetch (IMAP door, end to end): {args.n / door_seconds:8.0f} reports/s")
    print(f"  baseline: parse only (no IMAP, no database):   {parse_rate:8.0f} reports/s")
    print(f"  baseline: IMAP fetch only (no parse, no database): {fetch_rate:5.0f} messages/s")
    print(f"  command said: {done.stdout.strip()}; left in INBOX: {left}")
    print(f"  effects: bounced={bounced} suppressions={suppressed} complaint withdrawals={withdrawn}")


if __name__ == "__main__":
    main()
