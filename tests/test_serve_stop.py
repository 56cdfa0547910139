"""`sender serve` stopped while a work horse is busy: the whole process tree and the embedded Redis go."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
from redis import Redis
from rq.job import Job, JobStatus

from sender.tasks.queue import get_queue
from tests.test_cli import _embedded_redis_pid, _free_port, _start_serve, _stop_if_running, _wait_for

ROOT = Path(__file__).resolve().parents[1]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_serve_stopped_with_a_busy_horse_stops_every_process_and_keeps_files_private(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEYS", "HASH_KEY", "SMTP_URL", "INSTANCE_PATH"}
        and not key.startswith("TEST_")
    }
    # The worker must find the test's job module; everything else is as a user starts it.
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            # The busy horse never finishes: it is killed once this grace has passed.
            [sys.executable, "-m", "sender.cli", "serve", "--port", str(port), "--stop-grace", "1"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: "Press Ctrl-C to stop." in log.read_text(), proc, log, "printed its banner")
        redis_pid = _embedded_redis_pid(log.read_text())
        url = next(line for line in log.read_text().splitlines() if "redis:" in line).split("embedded, ")[1]
        connection = Redis.from_url(url.strip())
        job = get_queue(connection, "default").enqueue("tests.jobs_for_tests.sleep_long")
        _wait_for(
            lambda: Job.fetch(job.id, connection=connection).get_status() == JobStatus.STARTED,
            proc,
            log,
            "started the job",
        )
        connection.close()
        # Search terms in a query string are personal data: the access log keeps the path only.
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?email=jeanne@example.org", timeout=10)
        tree = psutil.Process(proc.pid).children(recursive=True)
        assert len(tree) >= 5, [p.cmdline() for p in tree]  # web, worker, its scheduler and horse, sweeper

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, log.read_text()
    finally:
        _stop_if_running(proc)

    _gone, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    deadline = time.monotonic() + 10
    while psutil.pid_exists(redis_pid) and psutil.Process(redis_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the embedded Redis outlived sender serve"
        time.sleep(0.1)
    text = log.read_text()
    assert "worker did not stop in 1s; killing it" in text and "sender stopped." in text
    assert "jeanne@example.org" not in text and "/healthz?[redacted]" in text
    instance = tmp_path / "instance"
    assert _mode(instance) == 0o700 and _mode(instance / "outbox") == 0o700
    for name in ("sender.db", "secret_key", "hash_key", "redis.db"):
        assert _mode(instance / name) == 0o600, name


def test_a_crashed_child_is_restarted_and_serve_keeps_running(tmp_path: Path) -> None:
    port = _free_port()
    proc, log = _start_serve(tmp_path, port)
    try:
        _wait_for(lambda: "Press Ctrl-C to stop." in log.read_text(), proc, log, "printed its banner")

        def sweeper() -> psutil.Process | None:
            children = psutil.Process(proc.pid).children()
            return next((c for c in children if "campaigns sweep" in " ".join(c.cmdline())), None)

        crashed = _wait_for(sweeper, proc, log, "started its sweeper")
        crashed.kill()
        _wait_for(
            lambda: "sweeper exited with code -9; restarting in" in log.read_text(), proc, log, "noticed"
        )
        restarted = _wait_for(
            lambda: (s := sweeper()) is not None and s.pid != crashed.pid and s, proc, log, ""
        )
        assert restarted.is_running() and proc.poll() is None

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=90) == 0, log.read_text()
    finally:
        _stop_if_running(proc)
