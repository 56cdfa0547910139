"""Exposing the metrics: the text a scrape gets, the bearer token guarding it, and the files of dead processes.

In multiprocess mode every process writes `counter_<pid>.db` and `histogram_<pid>.db` files. An RQ worker
forks a work horse per job, so these would pile up by the thousand and each scrape would read them all:
`fold(pid)` adds a finished process's values to `*_folded.db` (counters and histogram buckets simply add
up) and deletes its files. A lock file keeps scrapes and folds apart, so a scrape never counts twice.
"""

from __future__ import annotations

import fcntl
import glob
import hmac
import logging
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from sender.metrics import MULTIPROC_ENV

log = logging.getLogger(__name__)

FOLDED = "folded"
# The kinds of value files whose entries add up across processes (we define no multiprocess gauge).
_ADDITIVE = ("counter", "histogram")


def multiproc_dir() -> Path | None:
    """The folder where processes write their values, when PROMETHEUS_MULTIPROC_DIR names one."""
    folder = os.environ.get(MULTIPROC_ENV)
    return Path(folder) if folder else None


@contextmanager
def _locked(folder: Path, *, exclusive: bool) -> Iterator[None]:
    with open(folder / ".lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fold(pid: int) -> None:
    """Add the values of process `pid`, which has ended, to the folded totals, and delete its files."""
    folder = multiproc_dir()
    if folder is None:
        return
    with _locked(folder, exclusive=True):
        for kind in _ADDITIVE:
            source = folder / f"{kind}_{pid}.db"
            if not source.exists():
                continue
            target = folder / f"{kind}_{FOLDED}.db"
            totals: dict[str, float] = defaultdict(float)
            for path in (target, source):
                if path.exists():
                    for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
                        totals[key] += value
            # Written aside, then renamed over the old totals: a crash mid-way loses nothing.
            partial = folder / f".{kind}_{FOLDED}.partial"
            partial.unlink(missing_ok=True)
            written = MmapedDict(str(partial))
            for key, value in totals.items():
                written.write_value(key, value, 0.0)
            written.close()
            os.replace(partial, target)
            source.unlink()
        mark_process_dead(pid, str(folder))


def fold_quietly(pid: int) -> None:
    """`fold`, for a process's exit path: a failure is logged, never raised."""
    try:
        fold(pid)
    except OSError as exc:
        log.warning("could not fold the metrics of process %s (%s)", pid, type(exc).__name__)


class _Files:
    """Every process's values in the multiprocess folder, read under the lock that folds take."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def collect(self) -> Iterable[Metric]:
        with _locked(self.folder, exclusive=False):
            files = glob.glob(str(self.folder / "*.db"))
            return list(MultiProcessCollector.merge(files, accumulate=True))


class _ThisProcess:
    """The values of this process alone (no multiprocess folder: a single process, such as tests)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


@dataclass
class QueueStats:
    """Read at scrape time: jobs per (queue, state), and how late each queue's due scheduled jobs are."""

    jobs: dict[tuple[str, str], int] = field(default_factory=dict)
    lag_seconds: dict[str, float] = field(default_factory=dict)


class QueueCollector:
    """Queue depths and scheduled-job lag, read from the queue when scraped (nothing is stored)."""

    def __init__(self, read: Callable[[], QueueStats]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("sender_queue_up", "Whether the queue (Redis) answered this scrape.")
        try:
            stats = self.read()
        except Exception as exc:  # the scrape goes on without the queue's figures
            log.warning("metrics: the queue did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        jobs = GaugeMetricFamily("sender_queue_jobs", "Jobs per queue and state.", labels=("queue", "state"))
        for (queue, state), count in sorted(stats.jobs.items()):
            jobs.add_metric([queue, state], count)
        lag = GaugeMetricFamily(
            "sender_scheduled_job_lag_seconds",
            "How long the oldest due scheduled job (retry, launch, release) has waited to be queued.",
            labels=("queue",),
        )
        for queue, seconds in sorted(stats.lag_seconds.items()):
            lag.add_metric([queue], seconds)
        return [up, jobs, lag]


def render(*extra: Any) -> bytes:
    """The exposition text: every process's values (or this one's), then `extra` collectors."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiproc_dir()
    registry.register(_Files(folder) if folder is not None else _ThisProcess())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


def authorised(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries the metrics bearer token (compared in constant time)."""
    if not token or header is None:
        return False
    return hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


def serve(port: int, token: str, host: str = "0.0.0.0") -> WSGIServer:  # noqa: S104 (scraped from outside)
    """Serve GET /metrics on `port` in a daemon thread, behind the bearer token; for processes without web."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not authorised(environ.get("HTTP_AUTHORIZATION"), token):
            start_response(
                "401 Unauthorized", [("WWW-Authenticate", "Bearer"), ("Content-Type", "text/plain")]
            )
            return [b"unauthorised\n"]
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [render()]

    server = make_server(host, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
