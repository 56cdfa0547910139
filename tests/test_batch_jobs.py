"""Batch jobs on the queue: deterministic ids, and a time limit that grows with the batch."""

from __future__ import annotations

from typing import Any

from rq.job import Job

from sender import work
from sender.runtime import Runtime
from sender.services.campaigns import launch
from sender.tasks.queue import RQJobPort, batch_timeout
from sender.work.jobs import SendBatch


def test_a_batch_job_gets_a_time_limit_proportionate_to_its_size(runtime: Runtime, redis_conn: Any) -> None:
    small = RQJobPort(runtime.settings.with_overrides(send_batch_size=10), lambda: runtime.redis)
    large = RQJobPort(runtime.settings.with_overrides(send_batch_size=1000), lambda: runtime.redis)

    small.send(SendBatch(1, 0, "email"))
    large.send(SendBatch(2, 0, "email"))

    serializer = runtime.queue("email").serializer
    small_job = Job.fetch(SendBatch(1, 0, "email").job_id, connection=redis_conn, serializer=serializer)
    large_job = Job.fetch(SendBatch(2, 0, "email").job_id, connection=redis_conn, serializer=serializer)
    assert small_job.timeout == batch_timeout(10) < large_job.timeout == batch_timeout(1000)
    # Far below the hour a single stuck batch used to hold a worker for.
    assert batch_timeout(500) < 3600


def test_enqueueing_a_waiting_batch_again_adds_no_job(runtime: Runtime, redis_conn: Any) -> None:
    with work.unit(runtime.Session, "test") as session:
        assert launch.requeue(session, 3, "email", [0, 1]) == 2
    with work.unit(runtime.Session, "test") as session:
        assert launch.requeue(session, 3, "email", [0, 1]) == 0
    assert runtime.queue("email").count == 2
