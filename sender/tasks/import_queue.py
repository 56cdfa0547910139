"""Import runs on the queue: only the batch id travels (the file stays in the database); progress sits in Redis."""

from __future__ import annotations

from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Job

from sender.runtime import Runtime
from sender.tasks.dispatch import ALIVE

IMPORT_QUEUE = "default"
IMPORT_TIMEOUT = 3 * 3600
PROGRESS_TTL = 24 * 3600


def import_job_id(batch_id: int, mode: str) -> str:
    """The id of a batch's run: asking twice for the same run names the same job."""
    return f"import-{batch_id}-{mode}"


def enqueue_import(runtime: Runtime, batch_id: int, mode: str) -> str:
    """Queue the run of a batch already marked started (and committed) in the database."""
    job_id = import_job_id(batch_id, mode)
    publish_progress(runtime.redis, batch_id, 0.0)
    runtime.queue(IMPORT_QUEUE).enqueue(
        "sender.tasks.import_jobs.run_import",
        batch_id,
        job_id=job_id,
        job_timeout=IMPORT_TIMEOUT,
        description=f"import batch {batch_id} ({mode})",
    )
    return job_id


def import_job_alive(runtime: Runtime, batch_id: int) -> bool:
    """Whether a run of this batch is waiting or running on the queue."""
    serializer = runtime.queue(IMPORT_QUEUE).serializer
    for mode in ("analyse", "commit"):
        try:
            job = Job.fetch(import_job_id(batch_id, mode), connection=runtime.redis, serializer=serializer)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=False) in ALIVE:
            return True
    return False


def _key(batch_id: int) -> str:
    return f"sender:import-progress:{batch_id}"


def publish_progress(redis: Redis, batch_id: int, fraction: float) -> None:
    """Record how far a running batch is, from 0 to 1."""
    redis.set(_key(batch_id), f"{fraction:.4f}", ex=PROGRESS_TTL)


def read_progress(redis: Redis, batch_id: int) -> float | None:
    """How far a running batch is, or None if nothing was published."""
    raw = redis.get(_key(batch_id))
    return float(raw) if raw is not None else None
