"""The `sender` command: users, tokens, migrations, configuration errors, and `sender serve` for real."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest
from click.testing import CliRunner
from redis import Redis
from sqlalchemy import select

from sender.cli.main import cli
from sender.models import AuditEvent, User
from sender.runtime import Runtime
from sender.services.accounts import users
from sender.tokens import TokenService

PASSWORD = "correct horse battery staple"


@pytest.fixture
def runner(base_env: dict[str, str]) -> CliRunner:
    """A CLI runner whose environment describes the test deployment."""
    return CliRunner(env=base_env)


def _user(runtime: Runtime, email: str) -> User | None:
    with runtime.Session() as session:
        return session.scalar(select(User).where(User.email == email))


def test_users_create_reads_the_password_from_stdin(runner: CliRunner, committed: Runtime) -> None:
    result = runner.invoke(
        cli, ["users", "create", "Admin@Exemple.fr", "--role", "admin", "--password-stdin"], input=PASSWORD
    )

    assert result.exit_code == 0, result.output
    user = _user(committed, "admin@exemple.fr")
    assert user is not None and user.role == "admin"
    assert users.check_password(user, PASSWORD)
    assert f"created admin user #{user.id}" in result.output
    with committed.Session() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")).all()
    assert actions == ["user.create"]


def test_users_create_prompts_twice_without_echo(runner: CliRunner, committed: Runtime) -> None:
    result = runner.invoke(
        cli, ["users", "create", "dpo@exemple.fr", "--role", "dpo"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    user = _user(committed, "dpo@exemple.fr")
    assert user is not None and users.check_password(user, PASSWORD)


def test_users_create_names_every_bad_field_and_writes_nothing(runner: CliRunner, committed: Runtime) -> None:
    result = runner.invoke(
        cli, ["users", "create", "not-an-address", "--role", "boss", "--password-stdin"], input="short"
    )

    assert result.exit_code == 1
    assert "error: invalid input" in result.output
    for field in ("email:", "role: must be one of admin, marketer, dpo", "password: must be at least 12"):
        assert field in result.output
    assert "Traceback" not in result.output
    with committed.Session() as session:
        assert session.scalars(select(User)).all() == []


def test_users_create_refuses_a_duplicate(runner: CliRunner, committed: Runtime) -> None:
    args = ["users", "create", "m@exemple.fr", "--role", "marketer", "--password-stdin"]
    assert runner.invoke(cli, args, input=PASSWORD).exit_code == 0

    result = runner.invoke(cli, args, input=PASSWORD)

    assert result.exit_code == 1
    assert "error: a user with this email already exists" in result.output


def test_tokens_create_prints_a_working_token_once(runner: CliRunner, committed: Runtime) -> None:
    args = ["users", "create", "m@exemple.fr", "--role", "marketer", "--password-stdin"]
    assert runner.invoke(cli, args, input=PASSWORD).exit_code == 0

    result = runner.invoke(
        cli, ["tokens", "create", "M@exemple.fr", "--name", "crm sync"], input=f"{PASSWORD}\n"
    )

    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    token = result.stdout.strip()
    assert token.startswith(users.TOKEN_PREFIX) and "\n" not in token
    assert "cannot be shown again" in result.stderr
    with committed.Session() as session:
        user = users.authenticate_token(session, token)
        assert user is not None and user.email == "m@exemple.fr"
        assert [t.name for t in user.tokens] == ["crm sync"]


def test_tokens_create_for_an_unknown_user_fails(runner: CliRunner, committed: Runtime) -> None:
    result = runner.invoke(cli, ["tokens", "create", "nobody@exemple.fr", "--password-stdin"], input=PASSWORD)

    assert result.exit_code == 1
    assert "error: wrong email or password" in result.output


def test_tokens_create_needs_the_owners_password(runner: CliRunner, committed: Runtime) -> None:
    """A token acts for its owner: without the DPO's password nobody gets a token that approves as the DPO."""
    args = ["users", "create", "dpo@exemple.fr", "--role", "dpo", "--password-stdin"]
    assert runner.invoke(cli, args, input=PASSWORD).exit_code == 0

    refused = runner.invoke(
        cli, ["tokens", "create", "dpo@exemple.fr", "--password-stdin"], input="an admin's guess\n"
    )
    issued = runner.invoke(cli, ["tokens", "create", "dpo@exemple.fr", "--password-stdin"], input=PASSWORD)

    assert refused.exit_code == 1 and "error: wrong email or password" in refused.output
    assert issued.exit_code == 0, issued.output
    with committed.Session() as session:
        user = users.authenticate_token(session, issued.stdout.strip())
        assert user is not None and user.email == "dpo@exemple.fr"
        assert len(user.tokens) == 1


def test_db_upgrade_current_downgrade(base_env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner(env={**base_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"})

    before = runner.invoke(cli, ["db", "current"])
    upgraded = runner.invoke(cli, ["db", "upgrade"])
    at_head = runner.invoke(cli, ["db", "current"])
    downgraded = runner.invoke(cli, ["db", "downgrade", "base"])
    after = runner.invoke(cli, ["db", "current"])

    assert [r.exit_code for r in (before, upgraded, at_head, downgraded, after)] == [0] * 5
    assert "none (empty database" in before.output
    assert "(head)" in at_head.output
    assert "none (empty database" in after.output


def _sender(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The console script installed beside this interpreter, as a user would type it.
    script = Path(sys.executable).with_name("sender")
    return subprocess.run(
        [str(script), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("SEND_BATCH_SIZE", "many"), ("DATABASE_URL", "mysql://db/sender"), ("LOG_LEVEL", "LOUD")],
)
def test_a_configuration_error_exits_2_with_one_clear_line(tmp_path: Path, name: str, value: str) -> None:
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path), name: value}

    result = _sender(["db", "upgrade"], env, tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(f"configuration error: {name} ")
    assert "Traceback" not in result.stderr


def test_worker_refuses_a_malformed_smtp_url_without_printing_its_password(
    base_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, **base_env, "SMTP_URL": "smtp://news:Pa55-w0rd@relay.example.org:70000"}
    result = subprocess.run(
        [sys.executable, "worker.py", "--burst"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: SMTP_URL port must be a number from 1 to 65535")
    assert "Pa55" not in result.stdout + result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(condition: Any, proc: subprocess.Popen[bytes], log: Path, what: str) -> Any:
    """Poll `condition` until it returns something truthy; fail if serve dies or it never comes."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"sender serve exited early:\n{log.read_text()}"
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"sender serve never {what}:\n{log.read_text()}")


def _health(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: dict[str, Any] = json.load(response)
            return body
    except (urllib.error.URLError, ConnectionError):
        return None


def _embedded_redis_pid(banner: str) -> int:
    line = next(line for line in banner.splitlines() if line.strip().startswith("redis:"))
    url = line.split("embedded, ", 1)[1].strip()
    conn = Redis.from_url(url)
    pid = int(conn.info("server")["process_id"])
    # An open client would keep the embedded server alive past `serve`'s exit.
    conn.close()
    return pid


def _start_serve(folder: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    """`sender serve` in an empty folder with no database, Redis or keys configured."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEYS", "HASH_KEY", "SMTP_URL", "INSTANCE_PATH"}
        and not key.startswith("TEST_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    log = folder / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sender.cli", "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, log


def _stop_if_running(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_runs_everything_from_an_empty_folder_and_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port = _free_port()
    proc, log = _start_serve(tmp_path, port)
    try:
        health = _wait_for(lambda: _health(f"http://127.0.0.1:{port}/healthz"), proc, log, "answered")
        assert health == {"database": "ok", "redis": "ok"}
        _wait_for(lambda: "Press Ctrl-C to stop." in log.read_text(), proc, log, "printed its banner")
        banner = log.read_text()
        assert f"http://127.0.0.1:{port}/" in banner
        assert str(tmp_path / "instance" / "outbox") in banner
        # A signed link token is a credential: the access log shows it redacted.
        token = TokenService(["k" * 32]).dumps("unsubscribe", {"c": "x" * 22, "p": 1})
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/u/{token}", timeout=10)
        # The worker forks its scheduler once it has started: wait for the whole tree.
        children = _wait_for(
            lambda: [c for c in [psutil.Process(proc.pid).children(recursive=True)] if len(c) >= 5],
            proc,
            log,
            "started web server, worker, scheduler, sweeper and cron",
        )[0]
        names = [" ".join(child.cmdline()) for child in children]
        assert len(children) == 5, names
        assert any("sender.cli campaigns sweep --every 60" in name for name in names)
        assert any("sender.cli cron --parent-pid" in name for name in names)
        assert any("sender.cli web" in name for name in names)
        assert sum("sender.cli worker --with-scheduler" in name for name in names) == 2  # worker, scheduler
        redis_pid = _embedded_redis_pid(banner)

        proc.send_signal(stop_signal)
        assert proc.wait(timeout=90) == 0, log.read_text()
    finally:
        _stop_if_running(proc)

    assert [child.pid for child in children if child.is_running()] == [], log.read_text()
    assert not psutil.pid_exists(redis_pid) or psutil.Process(redis_pid).status() == psutil.STATUS_ZOMBIE
    assert (tmp_path / "instance" / "sender.db").exists()
    assert (tmp_path / "instance" / "outbox").is_dir()
    assert "sender stopped." in log.read_text()
    assert token not in log.read_text() and "/u/[redacted]" in log.read_text()


def test_serve_stops_everything_and_fails_when_the_web_server_cannot_listen(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc, log = _start_serve(tmp_path, port)
        try:
            code = proc.wait(timeout=90)
        finally:
            _stop_if_running(proc)

    output = log.read_text()
    assert code == 1, output
    assert f"Port {port} is in use by another program" in output
    assert "sender is running" not in output
    assert "web server exited with code 1; stopping" in output
    assert "Traceback" not in output
    # The worker started beside it was stopped too: no process is left running in that folder.
    assert [p.pid for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == str(tmp_path)] == []


def test_serve_children_stop_by_themselves_when_serve_is_killed(tmp_path: Path) -> None:
    port = _free_port()
    proc, log = _start_serve(tmp_path, port)
    try:
        _wait_for(lambda: "Press Ctrl-C to stop." in log.read_text(), proc, log, "printed its banner")
        children = psutil.Process(proc.pid).children(recursive=True)
        redis_pid = _embedded_redis_pid(log.read_text())

        proc.kill()  # no chance to clean up
        proc.wait()
        gone, alive = psutil.wait_procs(children, timeout=60)
    finally:
        _stop_if_running(proc)
        # Only the embedded Redis outlives a SIGKILL (the next `serve` would reuse it); end it here.
        if psutil.pid_exists(redis_pid):
            psutil.Process(redis_pid).kill()

    assert alive == [], log.read_text()
    assert len(gone) >= 2
