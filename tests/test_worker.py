"""The worker as deployed: `python worker.py` in a real process, on the test database and Redis."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rq import Queue, SimpleWorker
from rq.command import send_kill_horse_command
from rq.job import Job, JobStatus
from sqlalchemy import select

from sender.models import AuditEvent
from sender.runtime import Runtime
from sender.tasks.worker import PromptCommandListenerStop
from tests.jobs_for_tests import NAME

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], base_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **base_env}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _runs(runtime: Runtime) -> dict[str, dict[str, Any]]:
    with runtime.Session() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "test.job_ran"))
        return {row.subject_id: row.details for row in rows}


def test_jobs_run_in_forked_horses_inside_an_app_context(
    committed: Runtime, base_env: dict[str, str]
) -> None:
    committed.queue("email").enqueue("tests.jobs_for_tests.record_run", "first")
    committed.queue("default").enqueue("tests.jobs_for_tests.record_run", "second")

    proc = subprocess.Popen(
        [sys.executable, "worker.py", "--burst"],
        cwd=ROOT,
        env={**os.environ, **base_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output

    runs = _runs(committed)
    assert set(runs) == {"first", "second"}, output
    # Each job ran in its own work horse forked from the worker process.
    assert {run["ppid"] for run in runs.values()} == {proc.pid}
    assert len({run["pid"] for run in runs.values()} | {proc.pid}) == 3
    if committed.engine.dialect.name == "postgresql":
        # The worker holds a pooled connection (its start-up check); a horse that reused it instead of
        # resetting the pool would share that server backend with the next horse.
        assert runs["first"]["backend_pid"] != runs["second"]["backend_pid"]


def test_a_pickled_job_is_refused_and_json_jobs_still_run(
    committed: Runtime, base_env: dict[str, str], redis_conn: Any
) -> None:
    pickled = Queue("default", connection=redis_conn).enqueue("tests.jobs_for_tests.record_run", "pickled")
    committed.queue("default").enqueue("tests.jobs_for_tests.record_run", "json")

    result = _run(["-m", "sender.cli", "worker", "--burst", "--queues", "default"], base_env)

    assert result.returncode == 0, result.stderr
    assert set(_runs(committed)) == {"json"}
    assert Job.fetch(pickled.id, connection=redis_conn).get_status() == JobStatus.FAILED


def test_worker_logs_show_job_ids_not_addresses(committed: Runtime, base_env: dict[str, str]) -> None:
    job = committed.queue("email").enqueue("tests.jobs_for_tests.fail_with_addresses")

    result = _run(["worker.py", "--burst"], base_env)

    logs = result.stdout + result.stderr
    assert result.returncode == 0, logs
    assert job.id in logs
    assert "recipient rejected" in logs  # the failure is logged...
    assert "jane.doe@example.org" not in logs  # ...without the addresses it named
    assert "+33612345678" not in logs
    assert "<email>" in logs and "<phone>" in logs
    assert Job.fetch(job.id, connection=committed.redis, serializer=committed.queue().serializer).is_failed


def test_a_failed_job_leaves_no_personal_data_in_logs_or_redis(
    committed: Runtime, base_env: dict[str, str]
) -> None:
    job = committed.queue("email").enqueue("tests.jobs_for_tests.fail_quoting_a_name")

    result = _run(["worker.py", "--burst"], base_env)

    logs = result.stdout + result.stderr
    assert result.returncode == 0, logs
    assert job.id in logs and "UndefinedError" in logs  # the failure is logged by kind and job id
    failed = Job.fetch(job.id, connection=committed.redis, serializer=committed.queue().serializer)
    assert failed.is_failed
    stored = [r.exc_string or "" for r in failed.results()]
    assert any("UndefinedError" in text for text in stored)
    for text in [logs, *stored]:
        assert NAME not in text and "opaque-portal-token" not in text
    # Every value RQ keeps for the job, including its rq:results stream.
    for key in committed.redis.scan_iter(f"*{job.id}*"):
        kind = committed.redis.type(key)
        if kind == b"hash":
            values = b" ".join(committed.redis.hvals(key))
        elif kind == b"stream":
            values = b" ".join(v for _, entry in committed.redis.xrange(key) for v in entry.values())
        else:
            continue
        assert NAME.encode() not in values and b"opaque-portal-token" not in values


class _ListeningWorker(PromptCommandListenerStop, SimpleWorker):
    """sender's way of stopping RQ's command listener, on RQ's in-process worker."""


def test_a_worker_stopped_just_after_it_started_stops_its_command_listener_at_once(redis_conn: Any) -> None:
    # RQ's own order (UNSUBSCRIBE, then stop the thread) left the listener waiting 60 s for a subscription,
    # and the teardown with it, in about half of these starts.
    for _ in range(20):
        worker = _ListeningWorker([Queue("listener", connection=redis_conn)], connection=redis_conn)
        worker.subscribe()
        started = time.monotonic()
        worker.unsubscribe()

        assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()
        assert time.monotonic() - started < 10


def test_the_command_listener_still_hands_commands_to_the_worker(
    redis_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    worker = _ListeningWorker([Queue("listener", connection=redis_conn)], connection=redis_conn)
    worker.subscribe()
    try:
        with caplog.at_level(logging.INFO, logger="rq.worker"):
            send_kill_horse_command(redis_conn, worker.name)
            deadline = time.monotonic() + 30
            while "kill horse command ignored" not in caplog.text:
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.02)
    finally:
        worker.unsubscribe()
