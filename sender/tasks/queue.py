"""The only module that knows RQ: the queues, and the unit of work's job port that puts typed jobs on them
after commit. Whoever builds a runtime at the top (the app factory, the CLI) binds the port with bind_queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.serializers import JSONSerializer

from sender.config import Settings
from sender.enums import Channel
from sender.metrics.exposition import QueueStats
from sender.runtime import Runtime
from sender.work import Job, JobState, bind_port
from sender.work.jobs import (
    DecideAbTest,
    DeliverWebhook,
    LaunchCampaign,
    NotifyEndpointDisabled,
    ReleaseDeferred,
    RunImport,
    SendAddressConfirmation,
    SendBatch,
    SendErasureConfirmation,
    SendPortalLink,
    SendSignupConfirmation,
    SendTransactional,
)

# Workers listen in this order: transactional messages first (ahead of campaign batches), then one queue per
# channel for sending work (named after the channel, in enums.Channel's order: work.jobs.OnChannelQueue), then
# "default" for the rest (imports, system emails, webhooks). The one list.
QUEUES = ("transactional", *(channel.value for channel in Channel), "default")


def get_queue(connection: Redis, name: str = "default") -> Queue:
    """An RQ queue with the JSON serializer, so job arguments can only be plain ids."""
    return Queue(name, connection=connection, serializer=JSONSerializer)


# The task run for each kind of job: the one table that names task functions.
TASKS: dict[type[Job], str] = {
    SendBatch: "sender.tasks.jobs.send_batch",
    LaunchCampaign: "sender.tasks.jobs.launch_campaign",
    ReleaseDeferred: "sender.tasks.jobs.release_deferred",
    DecideAbTest: "sender.tasks.jobs.decide_ab_test",
    RunImport: "sender.tasks.import_jobs.run_import",
    SendPortalLink: "sender.tasks.rights_jobs.send_portal_link",
    SendSignupConfirmation: "sender.tasks.rights_jobs.send_signup_confirmation",
    SendErasureConfirmation: "sender.tasks.rights_jobs.send_erasure_confirmation",
    SendAddressConfirmation: "sender.tasks.rights_jobs.send_address_confirmation",
    DeliverWebhook: "sender.tasks.webhook_jobs.deliver_webhook",
    NotifyEndpointDisabled: "sender.tasks.webhook_jobs.notify_endpoint_disabled",
    SendTransactional: "sender.tasks.jobs.send_transactional",
}
# A batch job's time limit grows with its size: each message's templates stop within their render limits
# (about 0.9 s of CPU at worst, see services/messages/limits.py) and its send within the SMTP timeout shared
# by the pool's connections, so a stuck or hostile batch frees its worker in minutes, not an hour.
BATCH_BASE_SECONDS = 120
BATCH_SECONDS_PER_MESSAGE = 2
IMPORT_TIMEOUT = 3 * 3600
_STATES = {state.value: state for state in JobState}


def batch_timeout(batch_size: int) -> int:
    """Seconds a batch job of `batch_size` deliveries may run before RQ stops it."""
    return BATCH_BASE_SECONDS + BATCH_SECONDS_PER_MESSAGE * batch_size


class RQJobPort:
    """The unit of work's job port on RQ: deterministic ids, no duplicate of a live job, per-kind options."""

    def __init__(self, settings: Settings, redis: Callable[[], Redis]) -> None:
        self._settings, self._redis = settings, redis

    def _queue(self, job: Job) -> Queue:
        return get_queue(self._redis(), job.queue)

    def state(self, job: Job) -> JobState | None:
        """The job's RQ status, or None when RQ does not know the id."""
        if job.job_id is None:
            return None
        try:
            found = RQJob.fetch(job.job_id, connection=self._redis(), serializer=JSONSerializer)
        except NoSuchJobError:
            return None
        status = found.get_status(refresh=False)
        return _STATES.get(str(status.value)) if status is not None else None

    def send(self, job: Job, at: datetime | None = None) -> None:
        """Put the job on its queue (or the scheduler's registry for `at`), unless the same job is alive."""
        queue = self._queue(job)
        if at is None and not self._wanted(job, queue):
            return
        options: dict[str, Any] = {"job_id": job.job_id, "description": job.description}
        if isinstance(job, SendBatch):
            intervals = list(self._settings.send_retry_intervals)
            options["job_timeout"] = batch_timeout(self._settings.send_batch_size)
            options["retry"] = Retry(max=len(intervals), interval=intervals) if intervals else None
        elif isinstance(job, RunImport):
            options["job_timeout"] = IMPORT_TIMEOUT
            publish_progress(self._redis(), job.batch_id, 0.0)
        if at is not None:
            queue.enqueue_at(at.replace(tzinfo=UTC), TASKS[type(job)], *job.args, **options)
        else:
            queue.enqueue(TASKS[type(job)], *job.args, **options)

    def overdue(self, margin_seconds: int) -> int:
        """Delayed jobs of every queue due more than `margin_seconds` ago: no scheduler is moving them."""
        cutoff = int((datetime.now(UTC) - timedelta(seconds=margin_seconds)).timestamp())
        connection = self._redis()
        return sum(
            len(get_queue(connection, name).scheduled_job_registry.get_jobs_to_schedule(cutoff))
            for name in QUEUES
        )

    def _wanted(self, job: Job, queue: Queue) -> bool:
        if isinstance(job, SendBatch) and job.restart is None:
            state = self.state(job)
            return state is None or not state.alive
        if isinstance(job, LaunchCampaign | DeliverWebhook):
            # The database says the launch (the webhook attempt) is due: its scheduled job is late or was
            # lost with Redis's data.
            if self.state(job) in (JobState.QUEUED, JobState.STARTED):
                return False
            queue.scheduled_job_registry.remove(str(job.job_id))
        return True


def queue_stats(connection: Redis) -> QueueStats:
    """Jobs per queue and state, and how long each queue's oldest due scheduled job has waited (metrics)."""
    stats = QueueStats()
    now = datetime.now(UTC).timestamp()
    for name in QUEUES:
        queue = get_queue(connection, name)
        stats.jobs[(name, "queued")] = queue.count
        # Read only: a scrape must not run RQ's registry clean-ups (they move and fail jobs).
        stats.jobs[(name, "started")] = queue.started_job_registry.get_job_count(cleanup=False)
        stats.jobs[(name, "scheduled")] = queue.scheduled_job_registry.get_job_count(cleanup=False)
        stats.jobs[(name, "failed")] = queue.failed_job_registry.get_job_count(cleanup=False)
        # The registry is a sorted set scored by the time each job is due: the first is the oldest.
        oldest = connection.zrange(queue.scheduled_job_registry.key, 0, 0, withscores=True)
        stats.lag_seconds[name] = max(0.0, now - float(oldest[0][1])) if oldest else 0.0
    return stats


def bind_queue(runtime: Runtime) -> Runtime:
    """Send the jobs recorded in the runtime's sessions through RQ, on its Redis, once their unit commits."""
    bind_port(runtime.Session, RQJobPort(runtime.settings, lambda: runtime.redis))
    return runtime


def _progress_key(batch_id: int) -> str:
    return f"sender:import-progress:{batch_id}"


PROGRESS_TTL = 24 * 3600


def publish_progress(redis: Redis, batch_id: int, fraction: float) -> None:
    """Record how far a running import batch is, from 0 to 1."""
    redis.set(_progress_key(batch_id), f"{fraction:.4f}", ex=PROGRESS_TTL)


def read_progress(redis: Redis, batch_id: int) -> float | None:
    """How far a running import batch is, or None if nothing was published."""
    raw = redis.get(_progress_key(batch_id))
    return float(raw) if raw is not None else None
