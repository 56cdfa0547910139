"""The RQ worker of sender: JSON jobs, an app context for every job, fresh DB connections per work horse.

Send batches run in the worker process itself, not in a forked work horse: a fork per batch cost a new
database connection, the statements compiled again and about 0.8 s of pause per 500 messages, and protects
nothing the batch needs. At most once holds all the same: a delivery leaves `queued` only through its claim
and a message leaves only after its start is committed (services/campaigns/inflight.py), so a worker that
dies mid-batch leaves started claims for the sweep to mark `unknown`, exactly as a dead horse did. Every other
job still runs in its own horse, whose memory goes with it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

from flask import Flask
from redis.client import PubSubWorkerThread
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker, SimpleWorker, WorkerStatus
from sqlalchemy import text

from sender import create_app, get_runtime
from sender.config import Settings
from sender.metrics.exposition import fold_quietly
from sender.metrics.exposition import serve as serve_metrics
from sender.runtime import Runtime, build_runtime
from sender.scrub import format_exception, install_log_scrubber, scrub_traceback
from sender.services.campaigns import inflight, launch
from sender.tasks.queue import QUEUES, get_queue

log = logging.getLogger(__name__)

# RQ restarts a dead scheduler process only during maintenance (every 10 minutes by default): after a Redis
# blip, delayed retries and launches would wait that long.
MAINTENANCE_SECONDS = 30
# A worker loop that stopped on an unexpected error (Redis gone mid-call) starts again after this backoff.
RESTART_BACKOFF_SECONDS = (1, 2, 5, 10, 30)
# How long a stopping worker waits for its command listener (RQ waits as long).
PUBSUB_JOIN_SECONDS = 1
# Jobs run in the worker process (see the module's docstring).
IN_PROCESS = frozenset({"sender.tasks.jobs.send_batch"})


class PromptCommandListenerStop(BaseWorker):
    """An RQ worker whose teardown stops its command listener at once, never 60 s later.

    RQ listens for commands (stop a job, shut down) in a redis-py pubsub thread that blocks up to 60 s per
    read. To stop it, RQ sends UNSUBSCRIBE, then clears the thread's run flag. When the thread reads the
    reply before the flag is cleared (a teardown right after the start: a burst worker with nothing to
    do, on a busy machine), it finds no subscription left and waits 60 s for one; and since redis-py 8.2,
    `stop()` joins the thread with no limit, so the teardown waits those 60 s too.

    Here the flag is cleared first, then a message on the worker's own channel ends the blocking read;
    the thread sees its flag, leaves, and closes its connection (which ends the subscription). This
    thread never touches the pubsub connection while the listener may still use it.
    """

    _stopping_listener = False

    def handle_payload(self, message: dict[str, Any]) -> None:
        """Run a command sent to this worker; the wake-up sent by `unsubscribe` is not one."""
        if not self._stopping_listener:
            super().handle_payload(message)

    def unsubscribe(self) -> None:
        """Stop the listener thread: clear its run flag, wake it, wait for it, close its pubsub."""
        thread: PubSubWorkerThread | None = self.pubsub_thread
        pubsub = self.pubsub
        if thread is None or pubsub is None:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        self._stopping_listener = True
        thread.stop(timeout=0)
        with contextlib.suppress(RedisError):
            # Redis gone: the thread is in its reconnect pause, and leaves at its end.
            self.connection.publish(self.pubsub_channel_name, "{}")
        thread.join(timeout=PUBSUB_JOIN_SECONDS)
        pubsub.close()


class SenderWorker(PromptCommandListenerStop, Worker):
    """RQ's forking worker, with the database pool reset in each work horse.

    The horse is a fork of this process: pooled connections it inherits belong to the parent and must not
    be used by two processes (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()").
    """

    runtime: Runtime | None = None
    signalled = False

    def request_stop(self, signum: int, frame: Any) -> None:
        """Remember that the stop was asked for (SIGTERM, Ctrl-C), then shut down as RQ does."""
        self.signalled = True
        super().request_stop(signum, frame)

    def handle_warm_shutdown_request(self) -> None:
        """Tell a busy batch to stop sending: RQ alone would let it claim and send its whole batch."""
        super().handle_warm_shutdown_request()
        if self._in_process:
            inflight.stop_sending()
        elif self.horse_pid:
            self.kill_horse(sig=signal.SIGTERM)

    def setup_work_horse_signals(self) -> None:
        """In the work horse: ignore Ctrl-C (the worker handles it); SIGTERM means claim and start nothing more.

        The batch then lets what started finish, records it and hands the rest back to the queue.
        """
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda _signum, _frame: inflight.stop_sending())

    _warm = False
    _in_process = False

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run a send batch here, any other job in a forked horse; compile the send loop's SQL first.

        (Compiled at the first job rather than at start, so a worker that has nothing to do starts fast.)
        """
        if not self._warm and self.runtime is not None:
            self._warm = True
            launch.warm_up(self.runtime)
        if not _runs_in_process(job):
            try:
                super().execute_job(job, queue)
            finally:
                # The horse has ended: its metrics join the totals instead of leaving files behind.
                fold_quietly(self._last_horse)
            return
        self._in_process = True
        try:
            # As RQ's SimpleWorker: the job's own time limit (SIGALRM) still applies, here.
            execution = self.prepare_execution(job)
            self.perform_job(job, queue, execution)
            self.set_state(WorkerStatus.IDLE)
        finally:
            self._in_process = False

    _last_horse = 0

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork the horse as RQ does, remembering its pid (RQ forgets it when the horse ends)."""
        super().fork_work_horse(job, queue)
        self._last_horse = self.horse_pid

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """No horse to watch while a batch runs here: the heartbeat must outlast the job's time limit."""
        if self._in_process:
            return SimpleWorker.get_heartbeat_ttl(self, job, working_time)  # type: ignore[arg-type]
        return int(super().get_heartbeat_ttl(job, working_time))

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """Drop the inherited pool without closing the parent's sockets, then run the job."""
        if self.runtime is not None:
            self.runtime.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """Log a job's exception by id, its traceback scrubbed (RQ would log the raw text and arguments)."""
        self.log.error("Worker %s: job %s raised\n%s", self.name, job.id, format_exception(exc_info))

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        """Store the failure (rq:results, failed job registry) with its traceback scrubbed."""
        if isinstance(kwargs.get("exc_string"), str):
            kwargs["exc_string"] = scrub_traceback(kwargs["exc_string"])
        elif len(args) >= 2 and isinstance(args[1], str):
            args = (args[0], scrub_traceback(args[1]), *args[2:])
        super().handle_job_failure(job, queue, *args, **kwargs)


def _runs_in_process(job: Job) -> bool:
    """Whether a job runs in the worker process; one that cannot be read (pickled) fails in a horse, as RQ does."""
    try:
        return job.func_name in IN_PROCESS
    except Exception:  # a payload that is not JSON: its horse records the failure
        return False


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
        maintenance_interval=MAINTENANCE_SECONDS,
    )
    worker.runtime = runtime
    return worker


def _interruptible_pause(seconds: float) -> bool:
    """Sleep between two worker loops; True if SIGTERM or SIGINT came meanwhile (then stop)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop.wait(seconds)


def run(
    settings: Settings,
    queue_names: Sequence[str] = QUEUES,
    *,
    burst: bool = False,
    with_scheduler: bool = True,
) -> bool:
    """Create the app, push its context once (forked horses inherit it) and work; True if a job ran.

    RQ's loop returns on an unexpected error (Redis lost outside a blocking wait); unless it stopped on
    request or in burst mode, a fresh worker takes over after a backoff, so a blip never ends the process.
    """
    install_log_scrubber()
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime)
    # Fail fast on a wrong DATABASE_URL instead of failing every job later.
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    if settings.metrics_port:
        # A worker has no web server: its metrics (and its horses') are served on a port of their own.
        serve_metrics(settings.metrics_port, settings.metrics_token)
    worked = False
    failures = 0
    with app.app_context():
        while True:
            started = time.monotonic()
            worker: SenderWorker | None = None
            try:
                worker = build_worker(app, queue_names)
                worked = worker.work(
                    burst=burst, with_scheduler=with_scheduler, logging_level=settings.log_level
                )
            except RedisError as exc:
                if burst:
                    raise
                log.warning("Redis is unreachable (%s)", exc)
            # A stop asked for during an outage ends in a RedisError (the teardown cannot reach Redis): stop.
            if burst or (worker is not None and worker.signalled):
                break
            failures = 0 if time.monotonic() - started > 60 else failures + 1
            pause = RESTART_BACKOFF_SECONDS[min(failures, len(RESTART_BACKOFF_SECONDS) - 1)]
            log.warning("worker loop ended unexpectedly; starting again in %ss", pause)
            if _interruptible_pause(pause):
                break
    runtime.engine.dispose()
    return worked
