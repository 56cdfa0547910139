"""Benchmark: an SMS campaign through real `worker.py` processes and the real Twilio SDK, against the Twilio
stand-in (tests/twilio_server.py) answering each create-message call in 50 ms, like the real API.

Prints messages/s with 1 and 2 workers (rate limit out of the way), then, with SMS_MAX_RATE set, the rate
the workers held together: overall, and the busiest one-second window, against the configured limit.

    python bench/send_sms.py                       # N = 3,000 per throughput run, 100/s for the limit run
    python bench/send_sms.py --n 1000 --rate 50    # a quick run

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_sms; created and reset) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/13; flushed) choose the servers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_audience
from sender.config import load_settings
from sender.migrate import upgrade
from sender.runtime import build_runtime
from sender.services.campaigns import launch, lifecycle
from sender.services.campaigns.schema import CampaignDraft
from sender.tasks.queue import bind_queue
from tests.twilio_server import ACCOUNT_SID, AUTH_TOKEN

BODY = "Soldes d'hiver : -20% sur tout le magasin ce week-end, {{ contact.first_name }} !"


def zone_at_noon() -> str:
    """A fixed-offset zone where it is about noon now, so quiet hours never get in the way."""
    offset = (12 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 12 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def seed(rt: Any, n: int) -> int:
    """Insert n contacts with a French mobile number and SMS consent, on one list; return the list id."""
    return seed_audience(rt, n, "sms", zone_at_noon())[1]


def stats(base: str, method: str = "GET") -> dict[str, Any]:
    """The stand-in's counters (DELETE: forget them)."""
    with urllib.request.urlopen(
        urllib.request.Request(f"{base}/_stats", method=method), timeout=10
    ) as answer:
        body = answer.read()
    return json.loads(body) if body else {}


def run(env: dict[str, str], stand_in: str, list_id: int, n: int, workers: int, redis: Redis) -> list[float]:
    """Send a fresh campaign with `workers` worker processes; return the stand-in's arrival times."""
    stats(stand_in, "DELETE")
    settings = load_settings(env)
    rt = bind_queue(build_runtime(settings))
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while len(Worker.all(connection=redis)) < workers:
            time.sleep(0.1)
        with rt.Session() as session:
            draft = CampaignDraft.parse(
                {"name": f"bench {workers}w", "purpose": "promos", "channel": "sms", "body_text": BODY}
            )
            campaign = lifecycle.create(session, draft, [list_id], "bench")
            session.commit()
            queued = launch.send(session, rt.settings, campaign.id, "bench", now=True).queued
        deadline = time.time() + 1800
        while time.time() < deadline and stats(stand_in)["accepted"] < queued:
            time.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        rt.engine.dispose()
    times: list[float] = sorted(t for ts in stats(stand_in)["by_sender"].values() for t in ts)
    return times


def rate_of(times: list[float]) -> float:
    """Messages per second between the first and the last arrival."""
    span = times[-1] - times[0]
    return (len(times) - 1) / span if span > 0 else float("nan")


def busiest(times: list[float], seconds: float = 1.0) -> float:
    """The most arrivals in any window of `seconds`, per second."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best / seconds


def pauses(times: list[float], longer_than: float = 0.1) -> float:
    """Seconds spent in gaps between arrivals longer than `longer_than` (batch jobs starting, refills)."""
    return sum(b - a for a, b in itertools.pairwise(times) if b - a > longer_than)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=3000, help="messages per throughput run")
    parser.add_argument("--rate", type=int, default=100, help="SMS_MAX_RATE (per second) of the limit run")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_sms")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    stand_in_proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "twilio_server.py"), "--latency-ms", str(args.latency_ms)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stand_in_proc.stdout is not None
    stand_in = stand_in_proc.stdout.readline().strip()
    env = {
        **os.environ,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="sender-bench-sms-"),
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "PUBLIC_BASE_URL": "https://sender.example",
        "ORG_NAME": "Exemple SAS",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
        "TWILIO_API_BASE_URL": stand_in,
        "SMS_STOP_TEXT": "STOP au 36123",
        "LOG_LEVEL": "WARNING",
    }
    reset_database(db_url)
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    settings = load_settings(env)
    upgrade(settings.database_url)
    rt = bind_queue(build_runtime(settings))
    rows = []
    try:
        list_id = seed(rt, args.n)
        unlimited = {**env, "SMS_MAX_RATE": "100000/s"}
        for workers in (1, 2):
            times = run(unlimited, stand_in, list_id, args.n, workers, redis)
            rows.append(
                (
                    f"{workers} worker(s), no limit",
                    len(times),
                    rate_of(times),
                    busiest(times),
                    busiest(times, 5.0),
                    pauses(times),
                )
            )
        limited_n = min(args.n, args.rate * 15)
        list_id = seed(rt, limited_n)
        times = run({**env, "SMS_MAX_RATE": f"{args.rate}/s"}, stand_in, list_id, limited_n, 2, redis)
        rows.append(
            (
                f"2 workers, SMS_MAX_RATE={args.rate}/s",
                len(times),
                rate_of(times),
                busiest(times),
                busiest(times, 5.0),
                pauses(times),
            )
        )
    finally:
        rt.engine.dispose()
        stand_in_proc.send_signal(signal.SIGTERM)
        stand_in_proc.wait(timeout=10)
    print()
    concurrency = load_settings(env).sms.concurrency
    print(
        f"Twilio stand-in answering in {args.latency_ms:.0f} ms per call; SMS_CONCURRENCY={concurrency} per worker"
    )
    print(
        f"{'run':<34} | {'messages':>8} | {'msg/s':>7} | {'busiest 1 s':>11} | {'busiest 5 s':>11} | "
        f"{'pauses > 0.1 s':>14}"
    )
    print("-" * 101)
    for name, count, rate, peak, peak5, paused in rows:
        print(
            f"{name:<34} | {count:>8} | {rate:>7.1f} | {peak:>9.0f}/s | {peak5:>9.1f}/s | {paused:>12.1f} s"
        )
    _, _, limit_rate, limit_peak, limit_peak5, _ = rows[-1]

    def off(value: float) -> str:
        return f"{(value / args.rate - 1) * 100:+.1f} %"

    print(
        f"rate limit {args.rate}/s as Twilio sees it: {limit_rate:.1f}/s overall ({off(limit_rate)}), "
        f"busiest 5 s {limit_peak5:.1f}/s ({off(limit_peak5)}), busiest 1 s {limit_peak:.0f} ({off(limit_peak)}; "
        "arrival times include the stand-in's latency jitter)"
    )


if __name__ == "__main__":
    main()
