"""The RQ worker of sender: JSON jobs, an app context for every job, fresh DB connections per work horse."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from flask import Flask
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import text

from sender import create_app, get_runtime
from sender.config import Settings
from sender.runtime import Runtime, build_runtime
from sender.services.campaigns import launch
from sender.tasks.queue import QUEUES, get_queue

# Addresses must never reach a log line, even inside an exception message from a transport.
_EMAIL = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+\d[\d .-]{6,18}\d")


def scrub(message: str) -> str:
    """Replace anything that looks like an email address or an E.164 phone number."""
    return _PHONE.sub("<phone>", _EMAIL.sub("<email>", message))


class AddressScrubber(logging.Filter):
    """A handler filter that rewrites records so their text carries no address."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message (and traceback) now, scrubbed, so no handler sees the raw text."""
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = scrub(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


class SenderWorker(Worker):
    """RQ's forking worker, with the database pool reset in each work horse.

    The horse is a fork of this process: pooled connections it inherits belong to the parent and must not
    be used by two processes (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()").
    """

    runtime: Runtime | None = None
    _warm = False

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Before forking the first job, compile the send loop's SQL here: every later fork inherits it.

        (Done at the first job rather than at start, so a worker that has nothing to do starts fast.)
        """
        if not self._warm and self.runtime is not None:
            self._warm = True
            launch.warm_up(self.runtime)
        super().execute_job(job, queue)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """Drop the inherited pool without closing the parent's sockets, then run the job."""
        if self.runtime is not None:
            self.runtime.engine.dispose(close=False)
        super().main_work_horse(job, queue)


def _install_log_scrubber() -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, AddressScrubber) for f in handler.filters):
            handler.addFilter(AddressScrubber())


def build_worker(app: Flask, queue_names: Sequence[str] = QUEUES) -> SenderWorker:
    """An RQ worker on the app's Redis, JSON-serialised, listening on `queue_names` in priority order."""
    runtime = get_runtime(app)
    connection = runtime.redis
    queues = [get_queue(connection, name) for name in queue_names]
    worker = SenderWorker(
        queues,
        connection=connection,
        serializer=JSONSerializer,
        # A job description holds its arguments; the job id is enough in a log line.
        log_job_description=False,
    )
    worker.runtime = runtime
    return worker


def run(
    settings: Settings,
    queue_names: Sequence[str] = QUEUES,
    *,
    burst: bool = False,
    with_scheduler: bool = False,
) -> bool:
    """Create the app, push its context once (forked horses inherit it) and work; True if a job ran."""
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime)
    _install_log_scrubber()
    # Fail fast on a wrong DATABASE_URL instead of failing every job later.
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    worker = build_worker(app, queue_names)
    with app.app_context():
        worked = worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=settings.log_level)
    runtime.engine.dispose()
    return worked
