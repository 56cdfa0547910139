"""compose.yaml, checked without Docker: every command exists in the CLI, and the services agree with the
Dockerfile and with each other on what must be equal everywhere."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import CliRunner

from sender.cli.main import cli
from sender.config_redis import parse_sentinel_url

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# Settings that must hold the same value in every process, on every host.
SHARED = ("DATABASE_URL", "REDIS_URL", "SECRET_KEYS", "HASH_KEY", "PUBLIC_BASE_URL", "METRICS_TOKEN")


def _dockerfile(instruction: str) -> str:
    """The (last) argument of a Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = re.findall(rf"^{instruction}\s+(.+)$", joined, flags=re.MULTILINE)
    assert found, instruction
    return str(found[-1])


def _cmd() -> list[str]:
    return list(json.loads(_dockerfile("CMD")))


def _env() -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+)", _dockerfile("ENV")))


def _ours() -> dict[str, Any]:
    """The services that run the sender image."""
    return {name: service for name, service in SERVICES.items() if service.get("build") == "."}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", _cmd())
    return shlex.split(command) if isinstance(command, str) else list(command)


def _documented_settings() -> set[str]:
    return set(re.findall(r"^\| `([A-Z_]+)` \|", (ROOT / "README.md").read_text(), flags=re.MULTILINE))


def test_the_deployment_has_every_part() -> None:
    ours = _ours()
    assert {"migrate", "web", "worker", "sweeper", "cron"} <= set(ours)
    assert SERVICES["worker"]["deploy"]["replicas"] >= 2
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    redis = [name for name, s in SERVICES.items() if _command(s)[:1] == ["redis-server"]]
    assert len(redis) == 2 and any("--replicaof" in _command(SERVICES[name]) for name in redis)
    sentinels = [name for name, s in SERVICES.items() if "redis-sentinel" in " ".join(_command(s))]
    assert len(sentinels) == 3


@pytest.mark.parametrize("name", sorted(_ours()))
def test_each_command_exists_in_the_cli(name: str) -> None:
    argv = _command(SERVICES[name])
    if argv[0] == "gunicorn":
        # The app factory and the configuration module the web process names.
        app = argv[-1]
        module, _, factory = app.partition(":")
        assert callable(getattr(importlib.import_module(module), factory.removesuffix("()")))
        config = argv[argv.index("-c") + 1]
        assert hasattr(importlib.import_module(config.removeprefix("python:")), "child_exit")
        return
    if argv[:2] == ["python", "worker.py"]:
        # worker.py runs `sender worker` with its arguments, from the image's working directory.
        assert (ROOT / "worker.py").exists() and "COPY worker.py /app/worker.py" in DOCKERFILE
        assert "WORKDIR /app" in DOCKERFILE
        argv = ["sender", "worker", *argv[2:]]
    assert argv[0] == "sender", argv
    # --help after the arguments: click still parses them, so an unknown command or option fails here.
    result = CliRunner().invoke(cli, [*argv[1:], "--help"])
    assert result.exit_code == 0, (argv, result.output)


def test_every_sender_process_shares_the_same_settings() -> None:
    environments = {name: service["environment"] for name, service in _ours().items()}
    for setting in SHARED:
        values = {name: env.get(setting) for name, env in environments.items()}
        assert len(set(values.values())) == 1 and None not in values.values(), (setting, values)
    # Secrets are required from the operator, never defaulted in the file.
    for secret in ("SECRET_KEYS", "HASH_KEY"):
        assert ":?" in environments["web"][secret]
    known = _documented_settings()
    for name, env in environments.items():
        assert set(env) <= known, (name, set(env) - known)


def test_services_agree_with_the_dockerfile() -> None:
    images = {service["image"] for service in _ours().values()}
    assert len(images) == 1
    metrics_folder = _env()["PROMETHEUS_MULTIPROC_DIR"]
    for name, service in _ours().items():
        assert metrics_folder in service.get("tmpfs", []), name
    exposed = _dockerfile("EXPOSE").split()
    assert [port.split(":")[-1] for port in SERVICES["web"]["ports"]] == exposed
    assert f"0.0.0.0:{exposed[0]}" in _cmd()


def _default(value: str) -> str:
    """The value compose gives `${NAME:-default}` when NAME is unset, required variables set to `secret`."""
    inner = re.sub(r"^\$\{\w+:-(.*)\}$", r"\1", value)
    return re.sub(r"\$\{\w+:\?[^}]*\}", "secret", inner)


def test_the_urls_name_the_services_of_the_file() -> None:
    env = SERVICES["web"]["environment"]
    database = urlsplit(_default(env["DATABASE_URL"]))
    postgres = SERVICES["postgres"]["environment"]
    assert database.hostname == "postgres" and database.path == f"/{postgres['POSTGRES_DB']}"
    assert database.username == postgres["POSTGRES_USER"]
    target = parse_sentinel_url(_default(env["REDIS_URL"]))
    assert {host for host, _port in target.sentinels} == {f"sentinel-{i}" for i in (1, 2, 3)}
    assert {port for _host, port in target.sentinels} == {26379}
    monitor = " ".join(_command(SERVICES["sentinel-1"]))
    assert f"sentinel monitor {target.service} redis-master 6379 2" in monitor
    # A worker's metrics port is set where the worker runs, with the token it needs.
    assert SERVICES["worker"]["environment"]["METRICS_PORT"] == "9200"
