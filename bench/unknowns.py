"""Measure the `unknown` deliveries of three interruptions, against real processes (PostgreSQL and Redis).

1. kill: `python worker.py` is SIGKILLed (with its job process) during a 300-message send; the sweep runs
   with a lease of 0, then a burst worker sends what is left.
2. serve-stop: `sender serve` gets SIGTERM during a 300-message send to a slow relay (--stop-grace 10);
   then the same sweep and burst worker.
3. db-outage: a worker reaches PostgreSQL through a TCP proxy that goes down for 12 s (connections reset,
   new ones refused) during a 200-message send; then the same sweep and burst worker.

The relay is the aiosmtpd test server (tests/smtp_server.py) answering each message after 50-100 ms
(500 ms for serve-stop). For each scenario it prints: messages at the relay (distinct recipients, and
duplicates), the deliveries `sent`, `unknown`, `failed`, still queued, the unknown ones that never reached
the relay, and for serve-stop the claims made and messages started after SIGTERM.

    BENCH_DATABASE_URL=postgresql://… BENCH_REDIS_URL=redis://…/N python bench/unknowns.py [--only kill]

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench; created and reset) and
BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; flushed) choose the servers.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from redis import Redis
from sqlalchemy import select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_audience
from bench.send_campaign import campaign_body
from sender import work
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import Contact, Delivery
from sender.runtime import build_runtime
from sender.services.campaigns import launch, lifecycle
from sender.tasks.queue import bind_queue
from sender.web.api.schemas.campaigns import CampaignInput
from tests.smtp_server import Received, Reply, SmtpTestServer
from tests.tcp_proxy import TcpProxy


@dataclass
class Relay:
    """The test SMTP server, counting each message when its data has arrived (before its delayed reply)."""

    low: float
    high: float
    server: SmtpTestServer = field(default_factory=lambda: SmtpTestServer(pipelining=True))
    arrivals: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.server.start()
        self.server.script([self._arrive] * 100_000)

    def _arrive(self, received: Received) -> Reply:
        with self._lock:
            self.arrivals.extend((time.time(), r) for r in received.rcpt_tos)
        return Reply(None, delay=random.uniform(self.low, self.high))

    def arrived(self) -> int:
        """Messages whose data reached the relay."""
        with self._lock:
            return len(self.arrivals)

    def wait(self, count: int, timeout: float = 120) -> None:
        """Until `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while self.arrived() < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the relay got {self.arrived()} messages, expected {count}")
            time.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    parent = psutil.Process(proc.pid)
    for p in [*parent.children(recursive=True), parent]:
        p.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


class Bench:
    """One database and Redis, reset per scenario; processes started as the README says."""

    def __init__(self, db_url: str, redis_url: str) -> None:
        self.db_url, self.redis_url = db_url, redis_url
        self.env = {
            **os.environ,
            "INSTANCE_PATH": tempfile.mkdtemp(prefix="sender-bench-"),
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
            # Retries of a failed batch come back within seconds, not minutes.
            "SEND_RETRY_INTERVALS": "1,2,5",
        }

    def prepare(self, n: int, relay: Relay) -> int:
        """Reset, seed n contacts and launch a campaign to them; its id."""
        reset_database(self.db_url)
        Redis.from_url(self.redis_url).flushdb()
        self.env["SMTP_URL"] = relay.server.url
        settings = load_settings(self.env)
        upgrade(settings.database_url)
        rt = bind_queue(build_runtime(settings))
        _, list_id = seed_audience(rt, n, "email")
        with work.unit(rt.Session, "bench launch") as session:
            body = CampaignInput.parse(campaign_body(list_id))
            campaign = lifecycle.create(session, body, body.lists, "bench")
            session.flush()
            campaign_id = campaign.id
            launch.send(session, settings, campaign_id, "bench", now=True)
        rt.engine.dispose()
        return campaign_id

    def start(self, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        """A process of ours, in its own session, logging to a file of the instance folder."""
        log = Path(self.env["INSTANCE_PATH"]) / f"{Path(args[-1]).stem}-{time.time():.0f}.log"
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, *args],
                cwd=ROOT,
                env={**self.env, "LOG_LEVEL": "INFO", **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def finish(self) -> None:
        """What an operator does next: the sweep with the lease over, then a burst worker."""
        for args in (["-m", "sender.cli", "campaigns", "sweep", "--lease", "0"], ["worker.py", "--burst"]):
            subprocess.run([sys.executable, *args], cwd=ROOT, env=self.env, check=True, capture_output=True)

    def count(self, campaign_id: int, relay: Relay, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The figures of one scenario."""
        time.sleep(relay.high + 0.5)  # replies still delayed at the relay
        rt = build_runtime(load_settings(self.env))
        with rt.Session() as session:
            rows = session.execute(
                select(Delivery.status, Contact.email)
                .join(Contact, Contact.id == Delivery.contact_id)
                .where(Delivery.campaign_id == campaign_id)
            ).all()
        rt.engine.dispose()
        at_relay = Counter(r for _, r in relay.arrivals)
        statuses = Counter(status for status, _ in rows)
        return {
            "relay": sum(at_relay.values()),
            "distinct": len(at_relay),
            "duplicates": sum(c - 1 for c in at_relay.values()),
            "sent": statuses["sent"],
            "unknown": statuses["unknown"],
            "failed": statuses["failed"],
            "queued": statuses["queued"] + statuses["sending"],
            "unknown never at relay": sum(1 for s, e in rows if s == "unknown" and e not in at_relay),
            **(extra or {}),
        }


def kill(bench: Bench) -> dict[str, Any]:
    """SIGKILL of a worker and its job process mid-send."""
    relay = Relay(0.05, 0.1)
    campaign_id = bench.prepare(300, relay)
    worker = bench.start(["worker.py"])
    relay.wait(100)
    _kill_tree(worker)
    bench.finish()
    figures = bench.count(campaign_id, relay)
    relay.server.stop()
    return figures


def serve_stop(bench: Bench) -> dict[str, Any]:
    """SIGTERM of `sender serve` while a slow relay holds its worker."""
    relay = Relay(0.5, 0.5)
    campaign_id = bench.prepare(300, relay)
    serve = bench.start(["-m", "sender.cli", "serve", "--port", str(_free_port()), "--stop-grace", "10"])
    relay.wait(50)
    stopped_at, stopped_wall = utcnow(), time.time()
    serve.send_signal(signal.SIGTERM)
    started = time.monotonic()
    serve.wait(timeout=120)
    took = time.monotonic() - started
    time.sleep(relay.high + 0.5)
    after = sum(1 for at, _ in relay.arrivals if at > stopped_wall + relay.high)
    rt = build_runtime(load_settings(bench.env))
    with rt.Session() as session:
        claims_after = len(
            session.scalars(
                select(Delivery.id).where(
                    Delivery.campaign_id == campaign_id, Delivery.claimed_at > stopped_at
                )
            ).all()
        )
    rt.engine.dispose()
    bench.finish()
    figures = bench.count(
        campaign_id,
        relay,
        {"claims after SIGTERM": claims_after, "started after SIGTERM": after, "stop took s": round(took, 1)},
    )
    relay.server.stop()
    return figures


def db_outage(bench: Bench) -> dict[str, Any]:
    """PostgreSQL unreachable for 12 s mid-send, through a proxy (the shared server is never touched)."""
    relay = Relay(0.05, 0.1)
    campaign_id = bench.prepare(200, relay)
    url = make_url(bench.db_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        worker = bench.start(["worker.py"], DATABASE_URL=proxied)
        relay.wait(60)
        proxy.down()
        time.sleep(12)
        proxy.up()
        # Until the send has settled: nothing new at the relay for 5 s.
        last = -1
        while relay.arrived() != last:
            last = relay.arrived()
            time.sleep(5)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            _kill_tree(worker)
    bench.finish()
    figures = bench.count(campaign_id, relay)
    relay.server.stop()
    return figures


SCENARIOS = {"kill": kill, "serve-stop": serve_stop, "db-outage": db_outage}


def main() -> None:
    """Run the scenarios and print one line of figures each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()
    bench = Bench(
        os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench"),
        os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    for name in args.only or SCENARIOS:
        figures = SCENARIOS[name](bench)
        print(f"{name:11}", "  ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
