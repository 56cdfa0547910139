"""Imports as users run them: the real `sender contacts import` command, and a large file through `python worker.py`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sender.models import ConsentEvent, Contact, ImportBatch
from sender.runtime import Runtime
from sender.services.audience import imports
from sender.tasks.queue import read_progress
from tests import factories
from tests.import_helpers import csv_bytes, newsletter
from tests.queues import QueuedRuntime

ROOT = Path(__file__).resolve().parents[1]


def _sender(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The console script installed beside this interpreter, as a user would type it.
    script = Path(sys.executable).with_name("sender")
    return subprocess.run(
        [str(script), *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _count(runtime: Runtime, model: Any) -> int:
    with runtime.Session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_sender_contacts_import_dry_run_then_commit(
    committed: Runtime, base_env: dict[str, str], tmp_path: Path
) -> None:
    newsletter()
    factories._session["current"].commit()
    (tmp_path / "salon.csv").write_bytes(
        csv_bytes(
            "Mail;Prénom;Mobile",
            "ann@example.org;Ann;0612345678",
            "bob@example.org;Bob;12",
            "nope;X;",
            sep=";",
            encoding="cp1252",
        )
    )
    args = [
        "contacts",
        "import",
        "salon.csv",
        "--source",
        "salon-2026-stand",
        "--legal-basis",
        "consent",
        "--purpose",
        "newsletter",
        "--wording-version",
        "1",
        "--collected-on",
        "2026-03-14",
        "--map",
        "Mail=email",
        "--report",
        "report.csv",
    ]

    dry = _sender(args, base_env, tmp_path)

    assert dry.returncode == 0, dry.stderr
    assert "dry run, nothing written" in dry.stdout
    assert "rows: 3, accepted: 2, merged: 0, refused: 1, fields dropped: 1, consents: 2" in dry.stdout
    assert "row 3, column Mobile: accepted: not a valid phone number" in dry.stdout
    assert _count(committed, Contact) == 0

    done = _sender([*args, "--commit"], base_env, tmp_path)

    assert done.returncode == 0, done.stderr
    assert "committed" in done.stdout.splitlines()[0]
    assert _count(committed, Contact) == 2 and _count(committed, ConsentEvent) == 2
    report = (tmp_path / "report.csv").read_text(encoding="utf-8").splitlines()
    assert report[0] == "row,outcome,column,reason" and report[-1].startswith("4,refused,Mail,")

    again = _sender([*args, "--commit"], base_env, tmp_path)
    assert again.returncode == 1
    assert again.stderr.startswith("error: this file was already imported (batch ")


def test_sender_contacts_import_names_bad_input(
    committed: Runtime, base_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text("Société,Ville\nACME,Lyon\n")

    bad_map = _sender(
        ["contacts", "import", "a.csv", "--source", "x", "--legal-basis", "unknown", "--map", "Ville"],
        base_env,
        tmp_path,
    )
    no_address = _sender(
        ["contacts", "import", "a.csv", "--source", "x", "--legal-basis", "unknown"], base_env, tmp_path
    )

    assert bad_map.returncode == 1 and "mapping: 'Ville' is not column=field" in bad_map.stderr
    assert no_address.returncode == 1
    assert no_address.stderr.startswith("error: mapping: no column holds an email or a phone number")
    assert "Traceback" not in bad_map.stderr + no_address.stderr


def test_a_large_import_runs_in_a_worker_with_progress(committed: Runtime, base_env: dict[str, str]) -> None:
    rows = [f"person{i}@example.org;Person {i}" for i in range(3000)]
    content = csv_bytes("email;first_name", *rows, rows[10], sep=";")
    runtime = QueuedRuntime(
        settings=committed.settings.with_overrides(import_inline_bytes=1024),
        engine=committed.engine,
        Session=committed.Session,
        tokens=committed.tokens,
    )
    with runtime.Session() as session:
        batch = imports.create(
            session,
            runtime.settings,
            io.BytesIO(content),
            "big.csv",
            {"source": "x", "legal_basis": "unknown"},
            "user:1",
        )
        session.commit()
        assert imports.submit(runtime, session, batch, "analyse") is True
        batch_id = batch.id
    assert runtime.queue("default").fetch_job(f"import-{batch_id}-analyse").args == [batch_id]

    worker = subprocess.run(
        [sys.executable, "worker.py", "--burst"],
        cwd=ROOT,
        env={**os.environ, **base_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr

    with runtime.Session() as session:
        batch = session.get(ImportBatch, batch_id)
        assert batch is not None and batch.status == "analysed", batch.error
        assert (batch.total_rows, batch.accepted, batch.merged) == (3001, 3000, 1)
        assert read_progress(runtime.redis, batch_id) == 1.0
        assert imports.submit(runtime, session, batch, "commit") is True

    worker = subprocess.run(
        [sys.executable, "worker.py", "--burst"],
        cwd=ROOT,
        env={**os.environ, **base_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr
    with runtime.Session() as session:
        batch = session.get(ImportBatch, batch_id)
        assert batch is not None and batch.status == "committed", batch.error
    assert _count(runtime, Contact) == 3000
    assert "person1@example.org" not in worker.stdout + worker.stderr
