"""Metrics: who may read them, bounded labels, and the folding of ended processes' files."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from sender import create_app, metrics
from sender.config import ConfigError, load_settings
from sender.metrics.exposition import fold, serve
from sender.runtime import Runtime
from tests.redis_server import _free_port

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def metered(runtime: Runtime) -> Flask:
    """The app with METRICS_TOKEN set."""
    runtime.settings = runtime.settings.with_overrides(metrics_token=TOKEN)
    return create_app({"TESTING": True}, runtime=runtime)


def test_without_a_token_setting_there_is_no_metrics_page(client) -> None:
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_need_the_bearer_token(metered: Flask, redis_conn) -> None:
    client = metered.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401

    page = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert page.status_code == 200 and page.content_type.startswith("text/plain")
    text = page.get_data(as_text=True)
    assert 'sender_queue_jobs{queue="email",state="queued"} 0.0' in text
    assert "sender_queue_up 1.0" in text


def test_label_values_outside_the_enums_count_as_other() -> None:
    before = metrics.MESSAGES.labels("other", "other", "other")._value.get()

    metrics.messages("fax", "vanished", "jeanne@example.org")

    assert metrics.MESSAGES.labels("other", "other", "other")._value.get() == before + 1


def test_an_ended_process_is_folded_into_the_totals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    key = mmap_key("sender_messages", "sender_messages_total", ["channel"], ["email"], "help")
    for pid, value in ((101, 2.0), (102, 3.0)):
        values = MmapedDict(str(tmp_path / f"counter_{pid}.db"))
        values.write_value(key, value, 0.0)
        values.close()

    fold(101)
    fold(102)
    fold(102)  # an ended process is folded once, however often asked

    assert sorted(path.name for path in tmp_path.glob("*.db")) == ["counter_folded.db"]
    totals = {
        k: v for k, v, _t, _p in MmapedDict.read_all_values_from_file(str(tmp_path / "counter_folded.db"))
    }
    assert totals == {key: 5.0}


def test_a_worker_serves_its_metrics_behind_the_same_token() -> None:
    port = _free_port()
    server = serve(port, TOKEN, host="127.0.0.1")
    try:

        def status(path: str, token: str | None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return int(response.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert status("/metrics", TOKEN) == 200
        assert status("/metrics", None) == 401
        assert status("/metrics", "wrong-token-0123456789") == 401
        assert status("/other", TOKEN) == 404
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
        ({"METRICS_PORT": "9200", "PROMETHEUS_MULTIPROC_DIR": "/tmp/m"}, "needs METRICS_TOKEN"),
        ({"METRICS_PORT": "9200", "METRICS_TOKEN": TOKEN}, "needs PROMETHEUS_MULTIPROC_DIR"),
        ({"METRICS_PORT": "70000", "METRICS_TOKEN": TOKEN}, "port number"),
    ],
)
def test_metrics_settings_are_checked_at_start(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"INSTANCE_PATH": str(tmp_path), **env})
