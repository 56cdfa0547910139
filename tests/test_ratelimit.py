"""The shared rate limit: GCRA in Redis, respected by several processes at once (counts, on Redis's clock)."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from redis import Redis

from sender.channels.ratelimit import RateLimiter
from sender.config import ConfigError, Rate, load_settings, parse_rates

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
    span = grants[-1] - grants[0]
    assert len(grants) <= RATE.count * span + RATE.count // 20 + 1


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
