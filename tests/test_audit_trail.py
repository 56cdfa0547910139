"""The audit trail as a DPO proves it: appended side by side, sealed after commit, verified by
`sender audit verify`, and anchored by `sender audit checkpoint` so that a deleted tail shows (R73)."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from sender import work
from sender.cli.main import cli
from sender.models import AuditCheckpoint, AuditEvent
from sender.runtime import Runtime
from sender.services.records import audit


@pytest.fixture
def runner(base_env: dict[str, str]) -> CliRunner:
    """A CLI runner whose environment describes the test deployment."""
    return CliRunner(env=base_env)


def _append(runtime: Runtime, n: int, actor: str = "user:1") -> None:
    for i in range(n):
        with work.unit(runtime.Session, "test audit") as session:
            audit.record(session, actor, "contact.view", "contact", f"pub{i}")


def _wait_sealed(runtime: Runtime, timeout: float = 15.0) -> int:
    """Wait for the background sealer; the number of events still unsealed at the end."""
    deadline = time.monotonic() + timeout
    while True:
        with runtime.Session() as session:
            left = session.scalar(select(func.count()).where(AuditEvent.seq.is_(None))) or 0
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_concurrent_units_append_side_by_side_and_the_sealer_chains_them_all(committed: Runtime) -> None:
    threads = [threading.Thread(target=_append, args=(committed, 10, f"user:{k}")) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Nobody called seal(): the sealer woken by the commits did.
    assert _wait_sealed(committed) == 0
    with committed.Session() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, 81))
        assert audit.verify_chain(session) is None


def test_verify_passes_on_an_untouched_trail(runner: CliRunner, committed: Runtime) -> None:
    _append(committed, 5)
    assert runner.invoke(cli, ["audit", "checkpoint"]).exit_code == 0
    _append(committed, 2)

    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code == 0, result.output
    # The seven events, plus none of the commands' own: verifying is a read.
    assert "7 events, 1 checkpoints" in result.output


def test_verify_names_the_edited_event(runner: CliRunner, committed: Runtime) -> None:
    _append(committed, 5)
    assert _wait_sealed(committed) == 0
    with committed.Session() as session:
        target = session.scalar(select(AuditEvent.id).where(AuditEvent.seq == 3))
    with committed.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'user:99' WHERE id = :id"), {"id": target})

    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code == 1
    assert f"audit event {target} was edited" in result.output


def test_a_deleted_tail_is_caught_by_the_checkpoint(runner: CliRunner, committed: Runtime) -> None:
    _append(committed, 6)
    checkpoint = runner.invoke(cli, ["audit", "checkpoint"])
    assert checkpoint.exit_code == 0 and "seq 6" in checkpoint.output
    with committed.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 4"))
    with committed.Session() as session:
        # What is left is a well-formed chain on its own: only the checkpoint can tell.
        assert audit.verify_chain(session) is None

    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code == 1
    assert "no longer matches the chain" in result.output


def test_a_forged_checkpoint_is_refused(runner: CliRunner, committed: Runtime) -> None:
    _append(committed, 3)
    assert runner.invoke(cli, ["audit", "checkpoint"]).exit_code == 0
    with committed.engine.begin() as conn:
        # A forger moves the anchor back to hide a truncation, without the signing key.
        conn.execute(text("UPDATE audit_checkpoints SET seq = 2"))

    result = runner.invoke(cli, ["audit", "verify"])

    assert result.exit_code == 1
    assert "is forged" in result.output
    with committed.Session() as session:
        assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 1
