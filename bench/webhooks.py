"""Benchmark: bounce reports per second through a signed provider webhook, beside a no-op endpoint.

10,000 Mailgun `failed` events (one per request, each genuinely signed, each a hard bounce of its own
delivery: the delivery marked bounced, the address suppressed, the audit trail appended) are posted by
concurrent clients on keep-alive connections to the app served as the README serves it (gunicorn, 2
workers x 4 threads). The same clients then post as many requests to a no-op endpoint served the same
way, the bare baseline. Then the same reports go again, on a fresh database, as SendGrid's signed batches
(`--batch` events per request), beside the same no-op baseline.

    python bench/webhooks.py                              # 10,000 reports each way, 16 clients
    python bench/webhooks.py --reports 2000 --clients 8
    python bench/webhooks.py --provider sendgrid --batch 100   # one way only

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_bench_webhooks; its schema is
dropped and rebuilt) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/14; flushed) choose the servers.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, Response
from redis import Redis
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import reset_database, seed_sent_campaign
from sender.config import load_settings
from sender.migrate import upgrade
from sender.models import DeliveryFeedback, Suppression
from sender.runtime import build_runtime

MAILGUN_KEY = "key-bench-0123456789abcdef0123456789"
WORKERS, THREADS = 2, 4


def noop_app() -> Flask:
    """The bare baseline: a POST that reads its body and answers 200, served by the same gunicorn set-up."""
    app = Flask("noop")

    @app.post("/noop")
    def noop() -> Response:
        from flask import request

        request.get_data()
        return Response(status=200)

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app_spec: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn as the README runs it, on a free loopback port; waits until it answers."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--threads",
            str(THREADS),
            "--logger-class",
            "sender.web.access_log.RedactingGunicornLogger",
            "--log-level",
            "warning",
            app_spec,
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn ({app_spec}) did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _post_all(
    port: int, requests: list[tuple[str, bytes, dict[str, str]]], clients: int
) -> tuple[float, Counter[int]]:
    """Post every request from `clients` threads, each on one keep-alive connection; seconds and statuses."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    shares = [requests[i::clients] for i in range(clients)]
    start = threading.Barrier(clients + 1)

    def client(share: list[tuple[str, bytes, dict[str, str]]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        seen: Counter[int] = Counter()
        start.wait()
        for path, body, headers in share:
            connection.request("POST", path, body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            seen[answer.status] += 1
        connection.close()
        with lock:
            statuses.update(seen)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, statuses


def _mailgun(delivery_ids: list[int], campaign: int) -> list[tuple[str, bytes, dict[str, str]]]:
    now = str(int(time.time()))
    requests = []
    for delivery in delivery_ids:
        token = hashlib.sha256(f"t{delivery}".encode()).hexdigest()
        event = {
            "id": f"mg-{delivery}",
            "event": "failed",
            "severity": "permanent",
            "recipient": f"person{delivery}@bench.example",
            "message": {"headers": {"message-id": f"d{delivery}.c{campaign}.0a1b2c@bench.example"}},
            "delivery-status": {"code": 550},
        }
        signature = hmac.new(MAILGUN_KEY.encode(), (now + token).encode(), hashlib.sha256).hexdigest()
        body = json.dumps(
            {"signature": {"timestamp": now, "token": token, "signature": signature}, "event-data": event}
        )
        requests.append(("/webhooks/mailgun", body.encode(), {"Content-Type": "application/json"}))
    return requests


def _sendgrid(
    delivery_ids: list[int], campaign: int, batch: int, sign: Callable[[bytes], dict[str, str]]
) -> list[tuple[str, bytes, dict[str, str]]]:
    requests = []
    for i in range(0, len(delivery_ids), batch):
        events = [
            {
                "event": "bounce",
                "type": "bounce",
                "status": "5.1.1",
                "sg_event_id": f"sg-{d}",
                "email": f"person{d}@bench.example",
                "smtp-id": f"<d{d}.c{campaign}.0a1b2c@bench.example>",
                "timestamp": int(time.time()),
            }
            for d in delivery_ids[i : i + batch]
        ]
        body = json.dumps(events).encode()
        requests.append(("/webhooks/sendgrid", body, sign(body)))
    return requests


def _scenario(
    provider: str, args: argparse.Namespace, env: dict[str, str], sign: Callable[[bytes], dict[str, str]]
) -> tuple[int, dict[str, tuple[float, Counter[int]]], int, int]:
    """Fresh database and Redis, the reports' deliveries, then the no-op endpoint and the webhook, each served
    alone; (requests, {run: (seconds, statuses)}, reports applied, addresses suppressed)."""
    reset_database(env["DATABASE_URL"])
    Redis.from_url(env["REDIS_URL"]).flushdb()
    settings = load_settings(env)
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    campaign, delivery_ids = seed_sent_campaign(runtime, args.reports)
    if provider == "mailgun":
        requests = _mailgun(delivery_ids, campaign)
    else:
        requests = _sendgrid(delivery_ids, campaign, args.batch, sign)
    results: dict[str, tuple[float, Counter[int]]] = {}
    for name, spec, path in (
        ("no-op endpoint", "bench.webhooks:noop_app()", "/noop"),
        ("webhook", "sender:create_app()", None),
    ):
        process, port = _serve(spec, env)
        try:
            batch = [(path or p, b, h) for p, b, h in requests]
            results[name] = _post_all(port, batch, args.clients)
        finally:
            _stop(process)
    with runtime.Session() as session:
        applied = session.scalar(select(func.count(DeliveryFeedback.id))) or 0
        suppressed = session.scalar(select(func.count(Suppression.id))) or 0
    runtime.engine.dispose()
    return len(requests), results, applied, suppressed


def main() -> None:
    """Seed, serve, post, print: one report per request (Mailgun), then batches (SendGrid)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--provider", choices=("both", "mailgun", "sendgrid"), default="both")
    parser.add_argument("--batch", type=int, default=100, help="events per SendGrid request")
    args = parser.parse_args()
    db_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_bench_webhooks"
    )
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def sign(body: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        signature = key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }

    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": tempfile.mkdtemp(prefix="sender-bench-webhooks-"),
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "ORG_NAME": "Bench SAS",
        "ORG_ADDRESS": "1 rue du Banc, Paris",
        "ORG_CONTACT_EMAIL": "contact@bench.example",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": base64.b64encode(public).decode(),
        "LOG_LEVEL": "WARNING",
    }
    providers = ("mailgun", "sendgrid") if args.provider == "both" else (args.provider,)
    print(
        f"{args.reports:,} reports per run, {args.clients} clients,"
        f" gunicorn {WORKERS} workers x {THREADS} threads, PostgreSQL"
    )
    print(f"\n{'run':34} {'requests/s':>11} {'reports/s':>10} {'seconds':>8}  statuses")
    for provider in providers:
        requests, results, applied, suppressed = _scenario(provider, args, env, sign)
        shape = "one report per request" if provider == "mailgun" else f"batches of {args.batch}"
        for name, (seconds, statuses) in results.items():
            reports = args.reports if name == "webhook" else 0
            per_second = f"{reports / seconds:10.0f}" if reports else f"{'-':>10}"
            label = f"{provider} ({shape})" if name == "webhook" else f"  {name}, same requests"
            print(f"{label:34} {requests / seconds:11.0f} {per_second} {seconds:8.1f}  {dict(statuses)}")
        print(f"  reports applied: {applied:,}, addresses suppressed: {suppressed:,} (of {args.reports:,})")


if __name__ == "__main__":
    main()
