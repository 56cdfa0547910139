"""Batch jobs on the queue: deterministic ids, and a time limit that grows with the batch."""

from __future__ import annotations

from typing import Any

from rq.job import Job

from sender.runtime import Runtime
from sender.tasks.dispatch import EMAIL_QUEUE, batch_job_id, batch_timeout, enqueue_batches


def test_a_batch_job_gets_a_time_limit_proportionate_to_its_size(runtime: Runtime, redis_conn: Any) -> None:
    small = Runtime(**{**vars(runtime), "settings": runtime.settings.with_overrides(send_batch_size=10)})
    large = Runtime(**{**vars(runtime), "settings": runtime.settings.with_overrides(send_batch_size=1000)})

    enqueue_batches(small, 1, [0])
    enqueue_batches(large, 2, [0])

    serializer = runtime.queue(EMAIL_QUEUE).serializer
    small_job = Job.fetch(batch_job_id(1, 0), connection=redis_conn, serializer=serializer)
    large_job = Job.fetch(batch_job_id(2, 0), connection=redis_conn, serializer=serializer)
    assert small_job.timeout == batch_timeout(10) < large_job.timeout == batch_timeout(1000)
    # Far below the hour a single stuck batch used to hold a worker for.
    assert batch_timeout(500) < 3600


def test_enqueueing_a_waiting_batch_again_adds_no_job(runtime: Runtime, redis_conn: Any) -> None:
    assert enqueue_batches(runtime, 3, [0, 1]) == [batch_job_id(3, 0), batch_job_id(3, 1)]
    assert enqueue_batches(runtime, 3, [0, 1]) == []
    assert runtime.queue(EMAIL_QUEUE).count == 2
