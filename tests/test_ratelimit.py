"""Rate limits: the channels' shared rate (GCRA in Redis, respected by several processes at once, counted
on Redis's clock), and the public pages' limits (every public route limited, refused links counted per
client)."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy.orm import Session

from sender import create_app
from sender.channels.ratelimit import RateLimiter
from sender.config import ConfigError, Rate, load_settings, parse_rates
from sender.models import Contact, Purpose
from sender.runtime import Runtime
from sender.services.consent.links import unsubscribe_token
from sender.web.limits import INVALID_LINK_STATUSES, KEY_PREFIX
from tests.factories import ContactFactory, PurposeFactory

RATE = Rate(40, 1)


def _hammer(url: str, key: str, rates: list[tuple[int, int]], seconds: float) -> list[float]:
    """Take every permit available for `seconds`; return the Redis time of each one granted."""
    limiter = RateLimiter(Redis.from_url(url), key, [Rate(*r) for r in rates])
    granted = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        permit = limiter.try_acquire()
        if permit.granted:
            granted.append(permit.server_time)
    return granted


def test_processes_sharing_redis_never_exceed_the_rate_together(redis_conn: Any, settings: Any) -> None:
    url = settings.redis_url
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        results = pool.starmap(_hammer, [(url, "sender:rate:test", [(40, 1)], 2.0)] * 3)
    grants = sorted(t for result in results for t in result)

    assert all(results), "every process got permits"
    # On the server's clock, no one-second window holds more than the rate and its 5 % burst (2 of 40)...
    for i, start in enumerate(grants):
        in_window = sum(1 for t in grants[i:] if t < start + 1.0)
        assert in_window <= RATE.count + RATE.count // 20
    # ...and over the whole run the three processes together got the rate, not three times it.
    # The server's clock has microseconds: the bound is checked in whole microseconds, since a float
    # span rounds (105 permits over 2.55 s once came out as 105 <= 104.999999).
    span_us = round(grants[-1] * 1_000_000) - round(grants[0] * 1_000_000)
    assert len(grants) * 1_000_000 <= RATE.count * span_us + (RATE.count // 20 + 1) * 1_000_000


def test_every_rate_of_a_limiter_is_enforced_and_keys_are_independent(redis_conn: Any) -> None:
    # 100/s would allow dozens in half a second; 3/min spaces permits 20 s apart.
    both = RateLimiter(redis_conn, "sender:rate:email", [Rate(100, 1), Rate(3, 60)])
    with ThreadPoolExecutor(4) as pool:
        tries = list(pool.map(lambda _: both.try_acquire(), range(40)))
    granted = [p for p in tries if p.granted]
    assert len(granted) == 1
    assert all(18 < p.wait_seconds <= 20 for p in tries if not p.granted)
    # Another channel's key is not affected.
    other = RateLimiter(redis_conn, "sender:rate:sms", [Rate(3, 60)])
    assert other.try_acquire().granted


def test_hold_stops_every_permit_for_a_while(redis_conn: Any) -> None:
    limiter = RateLimiter(redis_conn, "sender:rate:email", [Rate(10, 1)])
    assert limiter.try_acquire().granted
    limiter.hold(5.0)
    refused = limiter.try_acquire()
    assert not refused.granted and 4.0 < refused.wait_seconds <= 5.0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14/s", (Rate(14, 1),)),
        ("14/s,50000/h", (Rate(14, 1), Rate(50000, 3600))),
        (" 50000/h , 14 / s ", (Rate(14, 1), Rate(50000, 3600))),
        ("600/m", (Rate(600, 60),)),
    ],
)
def test_rates_are_read_from_smtp_max_rate(raw: str, expected: tuple[Rate, ...], tmp_path: Any) -> None:
    assert parse_rates("SMTP_MAX_RATE", raw) == expected
    settings = load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_MAX_RATE": raw})
    assert settings.smtp_max_rate == expected
    assert settings.smtp_connections == 10


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("14", "SMTP_MAX_RATE must be rates like 14/s or 14/s,50000/h"),
        ("14/d", "got '14/d'"),
        ("0/s", "SMTP_MAX_RATE: a rate must allow at least 1 message, got '0/s'"),
        ("1.5/s", "got '1.5/s'"),
        ("14/s,20/s", "SMTP_MAX_RATE gives two rates per s"),
        ("14/s,", "got ''"),
    ],
)
def test_bad_rates_are_refused_with_the_variable_named(raw: str, message: str, tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_MAX_RATE": raw})


def test_smtp_connections_must_be_positive(tmp_path: Any) -> None:
    with pytest.raises(ConfigError, match="SMTP_CONNECTIONS must be at least 1, got 0"):
        load_settings({"INSTANCE_PATH": str(tmp_path), "SMTP_CONNECTIONS": "0"})


# Public pages (Flask-Limiter, counted in the test Redis)


def _public_app(runtime: Runtime, **overrides: Any) -> FlaskClient:
    """The app with its own public rate limit (and any other setting changed)."""
    tuned = Runtime(
        settings=runtime.settings.with_overrides(**overrides),
        engine=runtime.engine,
        Session=runtime.Session,
        tokens=runtime.tokens,
    )
    return create_app({"TESTING": True}, runtime=tuned).test_client()


# Pages that are not public: the staff pages and API (signed in), the health check, the signed webhooks of
# Twilio and the email providers (they post from a few addresses, at their own pace), the metrics (a bearer
# token, or a 404). Uploaded images (/media/<key>) are public but unlimited on purpose:
# a newsletter's images are fetched by every reader, often through one mail provider's image proxy (one
# client address for thousands).
NOT_PUBLIC = (
    "api.",
    "admin.",
    "root.",
    "health.",
    "twilio_webhooks.",
    "provider_webhooks.",
    "metrics.",
    "media.",
)
SAMPLE_ARGUMENTS = {"token": "forged-token", "answer": "confirm", "filename": "style.css"}


def test_every_public_route_of_the_app_is_rate_limited(runtime: Runtime, redis_conn: Any) -> None:
    client = _public_app(runtime, public_rate_limit="1 per minute")
    app: Any = client.application
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_PUBLIC) or rule.endpoint == "static":
            continue
        path = rule.build({name: SAMPLE_ARGUMENTS[name] for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answers = [client.open(path, method=method).status_code for _ in range(2)]
            assert answers[1] == 429, f"{method} {rule.rule} is not rate-limited: {answers}"
            checked.append(f"{method} {rule.rule}")
    # The walk did reach the pages people open from messages, the requalification answers among them.
    assert {"POST /u/<token>", "GET /requalify/<answer>/<token>", "POST /requalify/<answer>/<token>"} <= set(
        checked
    )


@pytest.fixture
def purpose_and_contact(db_session: Session) -> tuple[Purpose, Contact]:
    """Someone on file, for valid unsubscribe links."""
    purpose, contact = PurposeFactory(), ContactFactory()
    db_session.commit()
    return purpose, contact


def _limit_keys(redis_conn: Any) -> int:
    return len(redis_conn.keys(f"*{KEY_PREFIX}*"))


def test_forged_unsubscribe_links_are_counted_per_client_and_add_no_keys(
    runtime: Runtime, redis_conn: Any, purpose_and_contact: tuple[Purpose, Contact]
) -> None:
    budget = 20
    client = _public_app(runtime, public_rate_limit=f"{budget} per minute")
    purpose, contact = purpose_and_contact
    forged = [f"/u/forged-{n}" for n in range(30)]

    first = [client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code for link in forged[:5]]
    keys = _limit_keys(redis_conn)
    rest = [client.post(link, data={"List-Unsubscribe": "One-Click"}).status_code for link in forged[5:]]

    assert first + rest == [404] * budget + [429] * (len(forged) - budget)
    assert _limit_keys(redis_conn) == keys, "each forged link added keys"
    # A properly signed link from the same client (a mailbox provider's relay) is still honoured.
    for k in range(3):
        signed = f"/u/{unsubscribe_token(runtime.tokens, contact.public_id, purpose.id, 'email', k)}"
        assert client.post(signed, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def test_refused_links_of_every_kind_share_one_budget_per_client(runtime: Runtime, redis_conn: Any) -> None:
    budget = 20
    # Each page alone stays under the limit: only the budget the pages share can refuse.
    client = _public_app(runtime, public_rate_limit=f"{budget} per minute", proxy_hops=1)
    attempts = [
        ("GET", "/p/forged"),
        ("POST", "/portal"),
        ("GET", "/signup/confirm/forged"),
        ("POST", "/signup/confirm/forged"),
        ("GET", "/requalify/confirm/forged"),
        ("POST", "/requalify/decline/forged"),
        ("GET", "/u/forged"),
    ]

    def ask(method: str, path: str, client_address: str = "203.0.113.7") -> int:
        data = {"token": "forged", "action": "open"} if path == "/portal" else None
        return client.open(
            path, method=method, data=data, headers={"X-Forwarded-For": client_address}
        ).status_code

    answers = [ask(*attempts[n % len(attempts)]) for n in range(budget)]
    assert 429 not in answers and set(answers) <= INVALID_LINK_STATUSES
    assert [ask(method, path) for method, path in attempts] == [429] * len(attempts)
    # Another client is not affected, and the first one may still use the pages that take no link.
    assert ask("GET", "/p/forged", "203.0.113.8") in INVALID_LINK_STATUSES
    assert ask("GET", "/access") == 200
