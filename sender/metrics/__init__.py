"""Prometheus metrics: their definitions, and the one hook per fact that the code calls.

Every label value comes from an enum of ours (channels, reasons, consent sources) or from a fixed tuple; a
value outside them is counted as `other`, so no label can grow without bound and none carries personal data.
With PROMETHEUS_MULTIPROC_DIR set (gunicorn, RQ workers and their forked work horses), each process writes
its values to files there and the exposition (sender.metrics.exposition) adds them up.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from enum import StrEnum

from prometheus_client import Counter, Histogram

from sender.enums import Channel, ConsentAction, ConsentSource, DeliveryReason, SkipReason

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
if os.environ.get(MULTIPROC_ENV):
    # A process writing its first value must find the folder (a fresh tmpfs, a new container).
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

    @atexit.register
    def _fold_at_exit() -> None:
        """A process ending normally adds its values to the totals (a forked horse is folded by its worker)."""
        from sender.metrics.exposition import fold_quietly

        fold_quietly(os.getpid())


OTHER = "other"
NONE = "none"
# What became of a message: sent, failed for good, retried later (temporary failure), skipped by the
# consent gate (at planning or at the claim), deferred (quiet hours), or unknown (its answer was lost).
OUTCOMES = frozenset({"sent", "failed", "retry", "skipped", "deferred", "unknown"})
_CHANNELS = frozenset(Channel)
_REASONS = frozenset({*SkipReason, *DeliveryReason, NONE})
_ACTIONS = frozenset(ConsentAction)
_SOURCES = frozenset(ConsentSource)
# Seconds: a relay answers in milliseconds to seconds; a batch of 500 runs for seconds to minutes.
_SEND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_BATCH_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)
_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

MESSAGES = Counter(
    "sender_messages",
    "Campaign messages by channel, outcome and reason (reason `none` when there is none).",
    ("channel", "outcome", "reason"),
)
SEND_SECONDS = Histogram(
    "sender_send_seconds",
    "Time the provider took to take or refuse one message (SMTP transaction, Twilio call).",
    ("channel",),
    buckets=_SEND_BUCKETS,
)
BATCH_SECONDS = Histogram(
    "sender_batch_seconds", "Duration of one run of a batch job.", ("channel",), buckets=_BATCH_BUCKETS
)
RATE_LIMIT_WAIT_SECONDS = Histogram(
    "sender_rate_limit_wait_seconds",
    "Time a message waited for a permit of the provider's shared rate limit.",
    ("channel",),
    buckets=_WAIT_BUCKETS,
)
CONSENT_EVENTS = Counter(
    "sender_consent_events",
    "Consent events committed, by channel, action (grant, withdraw, request) and source.",
    ("channel", "action", "source"),
)
FEEDBACK = Counter(
    "sender_feedback",
    "Provider feedback about delivered messages (bounces, complaints), by channel and kind.",
    ("channel", "kind"),
)


def _bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else OTHER


def messages(channel: str, outcome: str, reason: str | None, count: int = 1) -> None:
    """Count `count` messages of `channel` that ended in `outcome` for `reason`."""
    if count > 0:
        MESSAGES.labels(
            _bounded(channel, _CHANNELS), _bounded(outcome, OUTCOMES), _bounded(reason or NONE, _REASONS)
        ).inc(count)


def outcomes(channel: str, counts: dict[tuple[str, str | None], int]) -> None:
    """Count messages by (outcome, reason), as a batch run reports them."""
    for (outcome, reason), count in counts.items():
        messages(channel, outcome, reason, count)


def send_observer(channel: str) -> Callable[[float], None]:
    """Records how long the provider took over one message of `channel` (the labelled child, looked up once)."""
    return SEND_SECONDS.labels(_bounded(channel, _CHANNELS)).observe


def rate_limit_wait_observer(channel: str) -> Callable[[float], None]:
    """Records how long one message of `channel` waited for the shared rate limit (child looked up once)."""
    return RATE_LIMIT_WAIT_SECONDS.labels(_bounded(channel, _CHANNELS)).observe


def batch_seconds(channel: str, seconds: float) -> None:
    """Record the duration of one run of a batch job."""
    BATCH_SECONDS.labels(_bounded(channel, _CHANNELS)).observe(seconds)


def consent_event(channel: str, action: str, source: str) -> None:
    """Count one committed consent event."""
    CONSENT_EVENTS.labels(
        _bounded(channel, _CHANNELS), _bounded(action, _ACTIONS), _bounded(source, _SOURCES)
    ).inc()


def feedback_received(channel: str, kind: StrEnum) -> None:
    """Count one bounce or complaint applied (services/deliverability/feedback.apply, after its commit)."""
    FEEDBACK.labels(_bounded(channel, _CHANNELS), kind.value).inc()
