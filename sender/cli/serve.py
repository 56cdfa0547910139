"""`sender serve`: web server, one worker with the scheduler and, when needed, an embedded Redis, together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from types import FrameType
from urllib.parse import urlsplit

import click
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from sender import create_app
from sender.config import Settings, load_settings
from sender.db import make_engine
from sender.migrate import upgrade
from sender.services.accounts import firstrun
from sender.tasks.queue import QUEUES, embedded_redis_url
from sender.web.access_log import RedactingRequestHandler

# A worker finishing a send batch gets this long after SIGTERM before its process group is killed.
STOP_GRACE_SECONDS = 30
START_WAIT_SECONDS = 30
SWEEP_SECONDS = 60


@dataclass
class Child:
    """A supervised child process."""

    name: str
    process: subprocess.Popen[bytes]


def stop_with_parent(parent_pid: int) -> None:
    """SIGTERM this process once `parent_pid` is gone, so a killed `sender serve` leaves no orphan."""

    def _watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=_watch, name="parent-watch", daemon=True).start()


def install_stop_handlers() -> threading.Event:
    """An event set by SIGINT or SIGTERM, for loops that should finish their round and stop."""
    stop = threading.Event()

    def _request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    return stop


def run_web(host: str, port: int) -> None:
    """Serve the app with werkzeug's threaded server until SIGTERM or SIGINT."""
    app = create_app()
    # On a port already taken, make_server prints why and exits 1; `serve` then stops everything.
    server = make_server(host, port, app, threaded=True, request_handler=RedactingRequestHandler)

    def _interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    # serve_forever returns on KeyboardInterrupt and closes the listening socket.
    server.serve_forever()


def _spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    command = [sys.executable, "-m", "sender.cli", *args]
    # Each child gets a session of its own: a Ctrl-C in the terminal reaches only this supervisor, which
    # then stops every child exactly once (RQ takes a second signal as a cold shutdown that kills a job).
    process = subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603
    return Child(name, process)


def _stop(children: list[Child]) -> None:
    """SIGTERM every child, wait for it, and kill its whole process group if it does not stop in time."""
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"{child.name} did not stop in {STOP_GRACE_SECONDS}s; killing it", err=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def _local_url(host: str, port: int) -> str:
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    return f"http://[{target}]:{port}" if ":" in target else f"http://{target}:{port}"


def _wait_answering(url: str, web: Child, stop: threading.Event) -> None:
    """Wait (boundedly) until our web server answers HTTP, dies, or we are asked to stop."""
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline and not stop.is_set() and web.process.poll() is None:
        try:
            # Any HTTP answer will do; a port merely accepting connections could be another program's.
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            stop.wait(0.1)


def _hide_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def _banner(settings: Settings, host: str, port: int, redis_url: str, embedded: bool) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    lines = [
        f"sender is running at http://{shown_host}:{port}/",
        f"  instance folder: {settings.instance_path}",
        f"  database:        {database}",
        f"  redis:           {'embedded, ' if embedded else ''}{_hide_userinfo(redis_url)}",
    ]
    if settings.smtp_url:
        lines.append(f"  email:           sent through {_hide_userinfo(settings.smtp_url)}")
    else:
        lines.append(f"  email:           written as files to the outbox folder {settings.outbox_path}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _first_run_note(settings: Settings, host: str, port: int) -> str:
    """How to create the first admin while no user exists (the code opens setup from another machine)."""
    engine = make_engine(settings.database_url, pool=False)
    try:
        with Session(engine) as session:
            if not firstrun.needs_setup(session):
                return ""
    finally:
        engine.dispose()
    return (
        f"First run: open {_local_url(host, port)}/ to create the first admin. "
        f"From another machine, the setup code is {firstrun.setup_code(settings)}"
    )


def serve(host: str, port: int) -> int:
    """Migrate, start Redis if needed, run web + worker until SIGINT/SIGTERM; the exit code."""
    stop = install_stop_handlers()
    settings = load_settings()
    upgrade(settings.database_url)
    settings.outbox_path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, INSTANCE_PATH=str(settings.instance_path))
    # Links in messages point at this server unless the deployment says otherwise.
    env.setdefault("PUBLIC_BASE_URL", _local_url(host, port))
    embedded = settings.redis_url is None
    # The embedded server lives as long as this process; children reach it through its socket.
    redis_url = settings.redis_url or embedded_redis_url(settings)
    env["REDIS_URL"] = redis_url
    if stop.is_set():
        return 0

    parent = ["--parent-pid", str(os.getpid())]
    web = _spawn("web server", ["web", "--host", host, "--port", str(port), *parent], env)
    worker = _spawn("worker", ["worker", "--with-scheduler", "--queues", ",".join(QUEUES), *parent], env)
    # What cron does in production: recover interrupted sends and close finished campaigns.
    sweeper = _spawn("sweeper", ["campaigns", "sweep", "--every", str(SWEEP_SECONDS), *parent], env)
    children = [web, worker, sweeper]
    code = 0
    try:
        _wait_answering(_local_url(host, port), web, stop)
        if not stop.is_set() and web.process.poll() is None:
            click.echo(_banner(settings, host, port, redis_url, embedded))
            note = _first_run_note(settings, host, port)
            if note:
                click.echo(note)
            sys.stdout.flush()
        while not stop.wait(0.5):
            dead = next((c for c in children if c.process.poll() is not None), None)
            if dead is not None:
                click.echo(f"{dead.name} exited with code {dead.process.returncode}; stopping", err=True)
                code = 1
                break
    finally:
        _stop(children)
    click.echo("sender stopped.")
    return code
