"""Benchmark: plan and send an email campaign of N contacts on PostgreSQL + Redis, against a counting SMTP sink.

For each N and each sink latency (0 and 20 ms per message), prints: the send rate of 1 and 2 `worker.py`
processes (SMTP_CONNECTIONS connections each), beside a bare smtplib loop over 1 and over 10 persistent
connections sending the same pre-rendered messages in the same run; the time from the send call to the first
message; peak worker memory. Then 4 workers against SMTP_MAX_RATE=200/s: the rate measured at the sink.

    python bench/send_campaign.py                          # N = 10,000 and 100,000
    python bench/send_campaign.py --sizes 2000             # a quick run
    python bench/send_campaign.py --latencies 20 --rate-limit 0

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench; created and reset) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; flushed) choose the servers. Bare loops over one slow
connection, and the rate-limited run, send at most --sample messages (their rate is steady well before that).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from redis import Redis
from rq import Worker
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_audience
from sender.channels.base import get_channel
from sender.config import load_settings
from sender.migrate import upgrade
from sender.models import Campaign, Contact, ContactList, Delivery, Purpose
from sender.runtime import build_runtime
from sender.services.accounts import users
from sender.services.campaigns import planning
from sender.services.messages.rendering import MessageRenderer
from sender.tasks.queue import bind_queue

PARAGRAPH = (
    "Bonjour {{ contact.first_name }}, voici les nouvelles du mois : nos ateliers reprennent en janvier, "
    "la boutique de Lyon change d'horaires et nous avons publié un guide pratique pour bien choisir. "
)
# About 4 KB on the wire with headers and the system footer.
BODY_TEXT = PARAGRAPH * 6
BODY_HTML = "<html><body>" + "".join(f"<p>{PARAGRAPH}</p>" for _ in range(5)) + "</body></html>"


# Bare loops send at most this many messages (a steady rate, and no 400 MB of messages held in the bench).
BARE_MAX = 20_000


@dataclass
class Run:
    """Figures of one campaign send."""

    n: int
    workers: int
    first_latency: float
    rate: float
    worker_rss_mb: float
    sent: int
    cpu_ms: float = float("nan")  # CPU time of the worker processes (and their job processes) per message


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(rt: Any, n: int) -> tuple[int, int]:
    """Insert n consenting contacts on one list, set-based; return (purpose id, list id)."""
    return seed_audience(rt, n, "email")


def measure_planning(rt: Any, list_id: int, n: int) -> float:
    """Planning rate in contacts/s: the whole audience in one INSERT … SELECT, rolled back."""
    with rt.Session() as session:
        body = campaign_body(list_id)
        # Built directly: the template check (a child process under a 5 s wall limit) can time out on a
        # loaded machine, and planning does not depend on it.
        purpose = session.scalars(select(Purpose)).one()
        campaign = Campaign(
            name=body["name"],
            purpose_id=purpose.id,
            channel="email",
            subject=body["subject"],
            body_text=body["body_text"],
            body_html=body["body_html"],
            lists=[session.get(ContactList, list_id)],
        )
        session.add(campaign)
        session.flush()
        start = time.perf_counter()
        planning.plan_chunk(
            session,
            campaign,
            [list_id],
            campaign.created_at,
            rt.settings.send_batch_size,
            channel=get_channel(campaign.channel),
            after=0,
            limit=n,
            first_batch=0,
        )
        session.flush()
        elapsed = time.perf_counter() - start
        session.rollback()
    return n / elapsed


def campaign_body(list_id: int) -> dict[str, Any]:
    """The API body of a ~4 KB newsletter."""
    return {
        "name": "Bench",
        "purpose": "newsletter",
        "lists": [list_id],
        "subject": "Nouvelles de décembre, {{ contact.first_name }}",
        "body_text": BODY_TEXT,
        "body_html": BODY_HTML,
    }


def api(
    base: str, token: str, path: str, body: dict[str, Any] | None = None, *, conflict_ok: bool = False
) -> dict[str, Any]:
    """POST a JSON request to the web process; `conflict_ok`: a 409 (nothing left to change) is fine."""
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(
        base + path,
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            result: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if conflict_ok and exc.code == 409:
            return {}
        # Say what the API refused, not only its status.
        raise SystemExit(f"{path}: {exc.code} {exc.read().decode(errors='replace')}") from None
    return result


def create_campaign(base: str, token: str, list_id: int) -> dict[str, Any]:
    """Create the campaign through the API; its template check may time out on a loaded machine: try again."""
    for _ in range(4):
        try:
            return api(base, token, "/api/v1/campaigns", campaign_body(list_id))
        except SystemExit as exc:
            if "took more than" not in str(exc):
                raise
    return api(base, token, "/api/v1/campaigns", campaign_body(list_id))


def read_stats(path: Path) -> dict[str, Any]:
    """The sink's counters."""
    try:
        result: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {"count": 0, "first": None, "last": None}
    return result


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of a process and of its children that exited (RQ's work horses)."""
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def tree_rss(proc: psutil.Process) -> float:
    """Resident memory of a process and its children (MB)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 1e6


def start_sink(port: int, stats: Path, latency_ms: float = 0.0) -> subprocess.Popen[bytes]:
    """The counting SMTP sink, in its own process."""
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(port), str(stats), str(latency_ms)]
    )
    for _ in range(100):
        if stats.exists():
            break
        time.sleep(0.05)
    return sink


def send_run(
    env: dict[str, str],
    base: str,
    token: str,
    list_id: int,
    n: int,
    workers: int,
    redis: Redis,
    web: psutil.Process,
    peaks: dict[str, float],
    latency_ms: float = 0.0,
    limit: int | None = None,
) -> Run:
    """Start workers, send a fresh campaign through the API, wait for the sink to count `limit` (all) messages."""
    port = free_port()
    stats = Path(tempfile.mkdtemp()) / "sink.json"
    sink = start_sink(port, stats, latency_ms)
    env = {**env, "SMTP_URL": f"smtp://127.0.0.1:{port}"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
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
        while len(Worker.all(connection=redis)) < workers:
            time.sleep(0.1)
        time.sleep(1.0)  # start-up (imports, warm-up) is not sending
        idle = [cpu_seconds(psutil.Process(p.pid)) for p in procs]
        campaign = create_campaign(base, token, list_id)
        sent_at = time.time()
        expected = api(base, token, f"/api/v1/campaigns/{campaign['id']}/send")["queued"]
        if limit is not None:
            expected = min(expected, limit)
        peak = 0.0
        deadline = time.time() + 3600
        while time.time() < deadline and read_stats(stats)["count"] < expected:
            peak = max(peak, *(tree_rss(psutil.Process(p.pid)) for p in procs))
            peaks["web"] = max(peaks.get("web", 0.0), tree_rss(web))
            time.sleep(0.05)
        if limit is not None:
            # Stop the rest of the campaign: the rate is measured on what was counted so far. A small
            # campaign may already be sent in full, which the API answers with 409.
            api(base, token, f"/api/v1/campaigns/{campaign['id']}/cancel", conflict_ok=True)
        time.sleep(0.5)  # let the last job process exit, so its CPU time is counted
        cpu = sum(cpu_seconds(psutil.Process(p.pid)) - before for p, before in zip(procs, idle, strict=True))
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=120)
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
        redis.flushdb()  # forget dead workers and leftover jobs of a cancelled run
    final = read_stats(stats)
    span = (final["last"] or 0) - (final["first"] or 0)
    return Run(
        n,
        workers,
        (final["first"] or sent_at) - sent_at,
        (final["count"] - 1) / span if span > 0 else float("nan"),
        peak,
        final["count"],
        cpu / max(final["count"], 1) * 1000,
    )


def rendered_messages(rt: Any, campaign_id: int, n: int) -> list[tuple[str, bytes]]:
    """The campaign's messages for its first n contacts, rendered as a worker renders them."""
    with rt.Session() as session:
        campaign = session.get(Campaign, campaign_id)
        purpose = session.get(Purpose, campaign.purpose_id)
        renderer = MessageRenderer(rt.settings, rt.tokens, campaign, purpose)
        contacts = session.scalars(select(Contact).order_by(Contact.id).limit(n)).all()
        return [(c.email, renderer.render(c, i).data) for i, c in enumerate(contacts)]


def bare_loop(
    sender_address: str, messages: list[tuple[str, bytes]], connections: int, latency_ms: float
) -> tuple[float, float]:
    """Ceiling: pre-rendered messages over `connections` smtplib connections, one thread each: (msg/s, CPU ms/msg)."""
    port = free_port()
    stats = Path(tempfile.mkdtemp()) / "sink.json"
    sink = start_sink(port, stats, latency_ms)
    shares = [messages[i::connections] for i in range(connections)]

    def run(share: list[tuple[str, bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for to, raw in share:
                smtp.sendmail(sender_address, [to], raw)

    try:
        threads = [threading.Thread(target=run, args=(share,)) for share in shares]
        start_cpu = time.process_time()
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - start_cpu
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(timeout=10)
    return len(messages) / elapsed, cpu / len(messages) * 1000


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--latencies", default="0,20", help="sink latencies in ms per message")
    parser.add_argument(
        "--rate-limit", type=int, default=200, help="SMTP_MAX_RATE per second of the 4-worker run"
    )
    parser.add_argument(
        "--sample", type=int, default=2000, help="messages of the slow bare loop and rate run"
    )
    args = parser.parse_args()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    instance = tempfile.mkdtemp(prefix="sender-bench-")
    env = {
        **os.environ,
        "INSTANCE_PATH": instance,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "PUBLIC_BASE_URL": "https://sender.example",
        "ORG_NAME": "Exemple SAS",
        "ORG_ADDRESS": "1 rue de la Paix, 75002 Paris",
        "ORG_CONTACT_EMAIL": "contact@exemple.example",
        "EMAIL_FROM": "news@exemple.example",
        "LOG_LEVEL": "WARNING",
    }
    reset_database(db_url)
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    settings = load_settings(env)
    upgrade(settings.database_url)
    rt = bind_queue(build_runtime(settings))
    with rt.Session() as session:
        user = users.create_user(session, "bench@exemple.example", "marketer", "bench-password-123")
        token = users.issue_token(session, user).value
        session.commit()

    web_port = free_port()
    web_cmd = (
        "from sender import create_app; from werkzeug.serving import run_simple; "
        f"run_simple('127.0.0.1', {web_port}, create_app(), threaded=True)"
    )
    web = subprocess.Popen(
        [sys.executable, "-c", web_cmd],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{web_port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    peaks: dict[str, float] = {}
    rows: list[Row] = []
    limited: list[tuple[int, Run]] = []
    latencies = [float(x) for x in args.latencies.split(",")]
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            _, list_id = seed(rt, n)
            plan_rate = measure_planning(rt, list_id, n)
            for latency in latencies:
                runs = [
                    send_run(env, base, token, list_id, n, w, redis, psutil.Process(web.pid), peaks, latency)
                    for w in (1, 2)
                ]
                with rt.Session() as session:
                    last_campaign = session.scalar(select(Campaign.id).order_by(Campaign.id.desc()))
                    sent = session.scalar(
                        select(text("count(*)"))
                        .select_from(Delivery)
                        .where(Delivery.campaign_id == last_campaign, Delivery.status == "sent")
                    )
                messages = rendered_messages(rt, last_campaign, min(n, BARE_MAX))
                sender_address = rt.settings.email_from
                # One slow connection would take N * latency: its steady rate is measured on a sample.
                one = messages[: args.sample] if latency else messages
                bare = {
                    c: bare_loop(sender_address, one if c == 1 else messages, c, latency) for c in (1, 10)
                }
                del messages
                rows.append(Row(n, latency, plan_rate, runs, bare, sent))
            if args.rate_limit:
                rate_env = {**env, "SMTP_MAX_RATE": f"{args.rate_limit}/s"}
                run = send_run(
                    rate_env,
                    base,
                    token,
                    list_id,
                    n,
                    4,
                    redis,
                    psutil.Process(web.pid),
                    peaks,
                    0.0,
                    args.sample,
                )
                limited.append((n, run))
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(timeout=10)
    print_table(rows, limited, args.rate_limit, peaks)


@dataclass
class Row:
    """Figures at one N and one sink latency."""

    n: int
    latency: float
    plan_rate: float
    runs: list[Run]
    bare: dict[int, tuple[float, float]]
    sent: int


def print_table(rows: list[Row], limited: list[tuple[int, Run]], rate: int, peaks: dict[str, float]) -> None:
    """The figures, one line per N and latency; then CPU per message, and the rate-limited runs."""
    print()
    print(
        f"{'N':>7} | {'lat ms':>6} | {'plan c/s':>8} | {'bare 1c':>7} | {'bare 10c':>8} | {'1w msg/s':>8} | "
        f"{'2w msg/s':>8} | {'1w/1c':>5} | {'2w/1c':>5} | {'1w/10c':>6} | {'1st msg s':>9} | "
        f"{'worker MB':>9} | {'sent ok':>7} | {'CPU ms/msg: bare 1c':>19} | {'bare 10c':>8} | {'1w':>5} | {'2w':>5}"
    )
    print("-" * 178)
    for row in rows:
        one, two = row.runs
        b1, b10 = row.bare[1][0], row.bare[10][0]
        print(
            f"{row.n:>7} | {row.latency:>6.0f} | {row.plan_rate:>8.0f} | {b1:>7.0f} | {b10:>8.0f} | "
            f"{one.rate:>8.0f} | {two.rate:>8.0f} | {one.rate / b1:>5.2f} | {two.rate / b1:>5.2f} | "
            f"{one.rate / b10:>6.2f} | {max(one.first_latency, two.first_latency):>9.3f} | "
            f"{max(one.worker_rss_mb, two.worker_rss_mb):>9.0f} | {row.sent == row.n!s:>7} | "
            f"{row.bare[1][1]:>19.2f} | {row.bare[10][1]:>8.2f} | {one.cpu_ms:>5.2f} | {two.cpu_ms:>5.2f}"
        )
    print()
    print("CPU time per message in ms (one idle core allows 1000 / this messages per second):")
    for row in rows:
        one, two = row.runs
        print(
            f"  N={row.n} at {row.latency:.0f} ms: bare 1c {row.bare[1][1]:.2f}, bare 10c {row.bare[10][1]:.2f}, "
            f"1 worker {one.cpu_ms:.2f}, 2 workers {two.cpu_ms:.2f}"
        )
    for n, run in limited:
        print(
            f"N={n}: 4 workers, SMTP_MAX_RATE={rate}/s: {run.rate:.1f} msg/s at the sink over {run.sent} messages "
            f"({(run.rate / rate - 1) * 100:+.1f} %)"
        )
    print(f"peak web process RSS: {peaks.get('web', 0):.0f} MB")


if __name__ == "__main__":
    main()
