"""Benchmark: does the time of a sign-up or a sign-in tell who is on file? (issue 15, item 14)

Times, through the WSGI app (no network: the server's own time), the median answer of:

- `POST /signup` (JSON) for a new address, a known and confirmed one, and a suppressed one, beside the bare
  floor of that endpoint (a sign-up the honeypot field turns away: parsing and the answer, nothing else);
- `POST /admin/signin` for an unknown email, a deactivated account and an active account with a wrong
  password, beside the bare floor (`GET /admin/signin`) and one password hash computed alone.

The cases run interleaved, round after round, so that a slow moment of the machine hits them all alike.
Every sign-in starts with the lock-out counters emptied (untimed): the bench measures the password check,
not the lock.

    python bench/timing_leaks.py                # 41 rounds, SQLite file and embedded Redis
    python bench/timing_leaks.py --rounds 101

BENCH_DATABASE_URL (a PostgreSQL database whose schema is dropped and rebuilt) and BENCH_REDIS_URL (a Redis
database the bench may fill) run it against servers instead.
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

from sqlalchemy import create_engine, delete, text
from werkzeug.security import check_password_hash, generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sender import create_app
from sender.addresses import address_hash
from sender.config import load_settings
from sender.migrate import upgrade
from sender.models import ConsentWording, Contact, Purpose, SignInThrottle, Suppression, User
from sender.runtime import build_runtime
from sender.services.consent import ledger

PASSWORD = "bench password 0123"  # noqa: S105 (a throwaway account in a throwaway database)
CONSENTS = [{"purpose": "news", "wording_version": 1}]


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _seed(rt: object, hash_key: str) -> None:
    """A purpose with its wording, a confirmed contact, a suppressed address, an active and a former user."""
    with rt.Session() as session:  # type: ignore[attr-defined]
        purpose = Purpose(slug="news", name="Newsletter", description="News", consent_validity_days=1095)
        session.add(purpose)
        session.flush()
        session.add(ConsentWording(purpose_id=purpose.id, version=1, text="Yes, send me the newsletter."))
        known = Contact(email="known@bench.example", email_hash=address_hash(hash_key, "known@bench.example"))
        session.add(known)
        session.flush()
        ledger.record(
            session, known, purpose, channel="email", action="grant", source="form",
            mechanism="checkbox", actor="bench", wording_version=1,
        )  # fmt: skip
        digest = address_hash(hash_key, "gone@bench.example")
        session.add(Suppression(address_hash=digest, channel="email", reason="unsubscribe"))
        hashed = generate_password_hash(PASSWORD)
        session.add(User(email="staff@bench.example", role="marketer", password_hash=hashed))
        session.add(
            User(email="former@bench.example", role="marketer", password_hash=hashed, is_active=False)
        )
        session.commit()


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def main() -> None:
    """Seed, time every case round after round, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="sender-bench-timing-"))
    env = {
        "INSTANCE_PATH": str(folder),
        "SECRET_KEYS": "bench-secret-key-0123456789",
        "HASH_KEY": "bench-hash-key-0123456789",
        "PUBLIC_BASE_URL": "http://localhost:5000",
        "PUBLIC_RATE_LIMIT": "1000000 per minute",
    }
    if os.environ.get("BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
        _reset_postgres(env["DATABASE_URL"])
    if os.environ.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    settings = load_settings(env)
    upgrade(settings.database_url)
    rt = build_runtime(settings)
    _seed(rt, settings.hash_key)
    # The bench posts forms without their CSRF tokens: what it times is the same with them.
    app = create_app({"WTF_CSRF_ENABLED": False, "WTF_CSRF_DISABLED": True}, runtime=rt)
    client = app.test_client()
    counter = iter(range(10**9))

    def signup(email: Callable[[], str], **extra: object) -> Callable[[], int]:
        return lambda: (
            client.post("/signup", json={"email": email(), "consents": CONSENTS, **extra}).status_code
        )

    def signin(email: str) -> Callable[[], int]:
        form = {"email": email, "password": "not the password at all"}
        return lambda: client.post("/admin/signin", data=form).status_code

    groups: dict[str, dict[str, Callable[[], int]]] = {
        "POST /signup": {
            "bare floor (honeypot)": signup(lambda: "bot@bench.example", website="x"),
            "new address": signup(lambda: f"new{next(counter)}@bench.example"),
            "known, confirmed": signup(lambda: "known@bench.example"),
            "suppressed": signup(lambda: "gone@bench.example"),
        },
        "POST /admin/signin": {
            "bare floor (GET form)": lambda: client.get("/admin/signin").status_code,
            "unknown email": signin("nobody@bench.example"),
            "deactivated account": signin("former@bench.example"),
            "active, wrong password": signin("staff@bench.example"),
        },
    }
    stored = generate_password_hash(PASSWORD)
    samples: dict[str, list[float]] = {name: [] for cases in groups.values() for name in cases}
    samples["one password hash, alone"] = []
    for case in [c for cases in groups.values() for c in cases.values()]:
        _unlock(rt)
        case()  # warm-up: templates compiled, connections open
    for _ in range(args.rounds):
        for group, cases in groups.items():
            for name, case in cases.items():
                if group == "POST /admin/signin":
                    _unlock(rt)
                started = time.perf_counter()
                status = case()
                samples[name].append(time.perf_counter() - started)
                assert status < 500, (name, status)
        started = time.perf_counter()
        check_password_hash(stored, "not the password at all")
        samples["one password hash, alone"].append(time.perf_counter() - started)

    backend = settings.database_url.split(":", 1)[0]
    print(
        f"median of {args.rounds} rounds, {backend}, Redis {'server' if settings.redis_url else 'embedded'}"
    )
    for group, cases in groups.items():
        print(group)
        for name in cases:
            print(f"  {name:<28}{_median_ms(samples[name])}")
    print(f"  {'one password hash, alone':<28}{_median_ms(samples['one password hash, alone'])}")
    rt.engine.dispose()


def _unlock(rt: object) -> None:
    """Empty the lock-out counters (untimed), so each sign-in checks a password rather than a lock."""
    with rt.Session() as session:  # type: ignore[attr-defined]
        session.execute(delete(SignInThrottle))
        session.commit()


if __name__ == "__main__":
    main()
