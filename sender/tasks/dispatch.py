"""Putting campaign work on the RQ queues, always after the database commit, with deterministic job ids."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from sender.runtime import Runtime
from sender.tasks.queue import QUEUES

EMAIL_QUEUE = "email"
# A batch job's time limit grows with its size: each message's templates stop within their render limits
# (about 0.6 s of CPU at worst, see services/messages/limits.py) and its send within the SMTP timeout shared
# by the pool's connections, so a stuck or hostile batch frees its worker in minutes, not an hour.
BATCH_BASE_SECONDS = 120
BATCH_SECONDS_PER_MESSAGE = 2
ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def batch_timeout(batch_size: int) -> int:
    """Seconds a batch job of `batch_size` deliveries may run before RQ stops it."""
    return BATCH_BASE_SECONDS + BATCH_SECONDS_PER_MESSAGE * batch_size


def batch_job_id(campaign_id: int, batch_no: int) -> str:
    """The id of a batch's job: the same campaign and batch always map to the same job."""
    return f"campaign-{campaign_id}-batch-{batch_no}"


def launch_job_id(campaign_id: int) -> str:
    """The id of a campaign's launch job."""
    return f"campaign-{campaign_id}-launch"


def _status(runtime: Runtime, job_id: str) -> JobStatus | None:
    try:
        job = Job.fetch(job_id, connection=runtime.redis, serializer=runtime.queue(EMAIL_QUEUE).serializer)
    except NoSuchJobError:
        return None
    return job.get_status(refresh=False)


def _alive(runtime: Runtime, job_id: str) -> bool:
    return _status(runtime, job_id) in ALIVE


def enqueue_batches(
    runtime: Runtime, campaign_id: int, batches: Iterable[int], *, force: bool = False
) -> list[str]:
    """Enqueue one job per batch unless its job is waiting or running (`force`: the old one is known dead)."""
    queue = runtime.queue(EMAIL_QUEUE)
    intervals = list(runtime.settings.send_retry_intervals)
    enqueued = []
    for batch_no in batches:
        job_id = batch_job_id(campaign_id, batch_no)
        if force:
            # A fresh id: RQ may still list the dead run under the old one.
            job_id = f"{job_id}-{uuid.uuid4().hex[:8]}"
        elif _alive(runtime, job_id):
            continue
        queue.enqueue(
            "sender.tasks.jobs.send_batch",
            campaign_id,
            batch_no,
            job_id=job_id,
            job_timeout=batch_timeout(runtime.settings.send_batch_size),
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
            description=f"campaign {campaign_id} batch {batch_no}",
        )
        enqueued.append(job_id)
    return enqueued


def schedule_launch(runtime: Runtime, campaign_id: int, when: datetime) -> str:
    """Have the scheduler launch a campaign at `when` (naive UTC)."""
    job_id = launch_job_id(campaign_id)
    runtime.queue(EMAIL_QUEUE).enqueue_at(
        when.replace(tzinfo=UTC),
        "sender.tasks.jobs.launch_campaign",
        campaign_id,
        job_id=job_id,
        description=f"launch campaign {campaign_id}",
    )
    return job_id


def enqueue_launch(runtime: Runtime, campaign_id: int) -> bool:
    """Enqueue a due launch now, unless its job already waits in a queue or runs; True if enqueued.

    The database says the launch is due; its scheduled job is late or was lost with Redis's data.
    """
    job_id = launch_job_id(campaign_id)
    if _status(runtime, job_id) in (JobStatus.QUEUED, JobStatus.STARTED):
        return False
    queue = runtime.queue(EMAIL_QUEUE)
    queue.scheduled_job_registry.remove(job_id)
    queue.enqueue(
        "sender.tasks.jobs.launch_campaign",
        campaign_id,
        job_id=job_id,
        description=f"launch campaign {campaign_id}",
    )
    return True


def overdue_scheduled_jobs(runtime: Runtime, margin_seconds: int) -> int:
    """Delayed jobs (retries, launches) due more than `margin_seconds` ago: no scheduler is moving them."""
    cutoff = int((datetime.now(UTC) - timedelta(seconds=margin_seconds)).timestamp())
    return sum(
        len(runtime.queue(name).scheduled_job_registry.get_jobs_to_schedule(cutoff)) for name in QUEUES
    )


def schedule_release(runtime: Runtime, campaign_id: int, when: datetime) -> str:
    """Have the scheduler queue a campaign's deferred deliveries again at `when` (naive UTC)."""
    # One job per campaign and slot: batches deferred to the same moment share it.
    job_id = f"campaign-{campaign_id}-release-{int(when.replace(tzinfo=UTC).timestamp())}"
    runtime.queue(EMAIL_QUEUE).enqueue_at(
        when.replace(tzinfo=UTC),
        "sender.tasks.jobs.release_deferred",
        campaign_id,
        job_id=job_id,
        description=f"release deferred deliveries of campaign {campaign_id}",
    )
    return job_id
