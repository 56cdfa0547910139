"""The unit of work: one session per request or job that commits once, and the jobs it asked for, sent after.

Every write goes through a session handed out here (or by the web layer's request session, built on the
same functions). Code records the jobs it wants with `enqueue` / `schedule_at`; nothing reaches the queue
until the unit commits, and a rollback sends nothing. Long orchestrations (a launch, an import commit, a cron
run) call `commit(session, step)` between named, idempotent steps, each followed by the sending of its own jobs.
A message that cannot be a job (it goes to an address the same unit erases) is sent with `after_commit`, in
this process, once the write transaction is over.

The queue itself sits behind `JobPort` (implemented by `sender.tasks.queue`, the only module that knows RQ);
this module and the services that record jobs never import it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Executable, Row, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from sender.db import READ_ONLY_OPTION

log = logging.getLogger(__name__)

# Keys of Session.info.
PORT_KEY = "sender.job_port"
_PENDING_KEY = "sender.pending_jobs"
_FAILED_KEY = "sender.unsent_jobs"
_AFTER_KEY = "sender.after_commit"


class JobState(StrEnum):
    """Where a job stands on the queue, as far as the decisions of our code need it."""

    QUEUED = "queued"
    STARTED = "started"
    SCHEDULED = "scheduled"
    DEFERRED = "deferred"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"
    CANCELED = "canceled"

    @property
    def alive(self) -> bool:
        """Waiting or running: asking for the same job again would run it twice."""
        return self in (JobState.QUEUED, JobState.STARTED, JobState.SCHEDULED, JobState.DEFERRED)


@dataclass(frozen=True)
class Job:
    """A typed reference to one job: which work, for which ids, under which deterministic job id.

    The concrete kinds are in sender.work.jobs; sender.tasks.queue maps each kind to its task function.
    Fields are ids and plain values only (job payloads are JSON and carry nothing personal).
    """

    @property
    def queue(self) -> str:
        """The queue the job runs on: one per channel for sending work, "default" for the rest."""
        return "default"

    @property
    def job_id(self) -> str | None:
        """The deterministic id (the same job asked for twice names the same queued job); None: a fresh one."""
        raise NotImplementedError

    @property
    def args(self) -> tuple[Any, ...]:
        """The task's positional arguments."""
        raise NotImplementedError

    @property
    def description(self) -> str:
        """A log-safe description: the kind and its ids."""
        return f"{type(self).__name__}{self.args}"


@dataclass(frozen=True)
class Pending:
    """A job recorded by a unit of work, with its due time when scheduled."""

    job: Job
    at: datetime | None = None


class JobPort(Protocol):
    """What the unit of work needs from a queue: send a job (now or at a time) and tell a job's state."""

    def send(self, job: Job, at: datetime | None = None) -> None:
        """Put `job` on its queue now, or have the scheduler queue it at `at` (naive UTC)."""
        ...

    def state(self, job: Job) -> JobState | None:
        """The job's state on the queue, or None when the queue does not know it."""
        ...

    def overdue(self, margin_seconds: int) -> int:
        """How many delayed jobs (retries, launches) were due more than `margin_seconds` ago: no scheduler
        is moving them."""
        ...


class QueueDown(Exception):
    """Jobs of a committed unit could not be sent: the data is saved, the sweep sends what it can redo."""

    def __init__(self, step: str, jobs: list[Job], cause: BaseException) -> None:
        super().__init__(f"{step}: {len(jobs)} job(s) not sent, the queue is unavailable ({cause})")
        self.step, self.jobs, self.cause = step, jobs, cause


def bind_port(factory: sessionmaker[Session], port: JobPort) -> None:
    """Give every session made by `factory` the port its jobs are sent through after commit."""
    info = dict(factory.kw.get("info") or {})
    info[PORT_KEY] = port
    factory.configure(info=info)


def _port(session: Session) -> JobPort:
    port: JobPort | None = session.info.get(PORT_KEY)
    if port is None:
        raise RuntimeError("this session has no job port: make it with the runtime's Session")
    return port


def _record(session: Session, item: Pending) -> None:
    _port(session)  # fail now, not after the commit
    if not session.in_transaction():
        # The jobs belong to a transaction, so that its rollback drops them (no connection is taken yet).
        session.begin()
    session.info.setdefault(_PENDING_KEY, []).append(item)


def enqueue(session: Session, job: Job) -> None:
    """Ask for `job`: it is sent once the session's unit of work commits, never if it rolls back."""
    _record(session, Pending(job))


def schedule_at(session: Session, job: Job, when: datetime) -> None:
    """Ask for `job` to run at `when` (naive UTC), once the unit of work commits."""
    _record(session, Pending(job, when))


def after_commit(session: Session, name: str, action: Callable[[], object]) -> None:
    """Run `action` in this process once the unit commits through `commit`, never if it rolls back.

    For a network call that cannot wait for a worker nor run inside the write transaction: the erasure
    notice, whose address is gone from the database once the unit commits. A failure is logged (by `name`,
    which must say nothing personal), never raised: the data is committed.
    """
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_AFTER_KEY, []).append((name, action))


def state(session: Session, job: Job) -> JobState | None:
    """The job's state on the queue now (a read; raises the queue's error if it is unavailable)."""
    return _port(session).state(job)


def overdue(session: Session, margin_seconds: int) -> int:
    """Delayed jobs due more than `margin_seconds` ago (a read; raises the queue's error if it is unavailable)."""
    return _port(session).overdue(margin_seconds)


def pending(session: Session) -> list[Job]:
    """The jobs recorded and not yet sent (for tests and diagnostics)."""
    return [p.job for p in session.info.get(_PENDING_KEY, [])]


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    _send_jobs(session)


def _run_after_commit(session: Session) -> None:
    # Run once commit() has returned, so the session's connection is back in the pool: an action may use
    # the database itself (the audit sealer) without holding a second connection per unit.
    for name, action in session.info.pop(_AFTER_KEY, []):
        try:
            action()
        except Exception as exc:  # the data is committed: say what failed, go on
            log.warning("%s after commit failed: %s", name, type(exc).__name__)


def _send_jobs(session: Session) -> None:
    jobs: list[Pending] = session.info.pop(_PENDING_KEY, [])
    if not jobs:
        return
    port = _port(session)
    for index, item in enumerate(jobs):
        try:
            port.send(item.job, item.at)
        except Exception as exc:  # the data is committed: keep what could not be sent for the caller
            session.info[_FAILED_KEY] = ([p.job for p in jobs[index:]], exc)
            return


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_rollback(session: Session, previous: SessionTransaction) -> None:
    # Only the outermost transaction's end drops the unit's jobs; a savepoint's rollback keeps them.
    if previous.parent is None:
        session.info.pop(_PENDING_KEY, None)
        session.info.pop(_AFTER_KEY, None)


def commit(session: Session, step: str) -> None:
    """Commit the unit (or one named step of an orchestration), then send its jobs; QueueDown if they fail."""
    session.commit()
    _run_after_commit(session)
    failed = session.info.pop(_FAILED_KEY, None)
    if failed is not None:
        jobs, exc = failed
        log.warning("%s: %s job(s) not sent: %s", step, len(jobs), type(exc).__name__)
        raise QueueDown(step, jobs, exc)


@contextmanager
def unit(factory: sessionmaker[Session], name: str) -> Iterator[Session]:
    """A job's or a command's unit of work: commits once at the end, rolls back on error, always closes."""
    session = factory()
    try:
        yield session
        commit(session, name)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class SoloSteps:
    """Steps of one statement each, every one committed when it returns: the start records of a send batch.

    On PostgreSQL they run on a connection of their own in autocommit mode, held for the whole orchestration:
    one round trip per step, where the session's transaction would cost four (the pool's ping, BEGIN, the
    statement, COMMIT). A single statement is atomic and durable by itself, so each step keeps the meaning of
    "statement, then commit". Elsewhere (SQLite, a session bound to a connection) the session runs the
    statement and commits it. A failed step drops the connection; the next step takes a fresh one.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        bind = session.get_bind()
        self._engine = bind if isinstance(bind, Engine) and bind.dialect.name == "postgresql" else None
        self._connection: Connection | None = None

    def run(self, step: str, statement: Executable, params: dict[str, Any]) -> list[Row[Any]]:
        """Run one statement with RETURNING and commit it; its rows."""
        if self._engine is None:
            rows = list(self.session.execute(statement, params).all())
            commit(self.session, step)
            return rows
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return list(self._connection.execute(statement, params).all())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give the connection back to the pool (or drop it, if it is broken)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(Exception):  # a broken connection: the pool drops it
                connection.close()


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only (exports, reports): it never writes and holds no write lock, even on SQLite."""
    session = factory()
    # Procure the connection now, with the option set before its BEGIN runs.
    session.connection(execution_options={READ_ONLY_OPTION: True})
    try:
        yield session
    finally:
        session.rollback()
        session.close()
