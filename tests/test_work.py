"""The unit of work: jobs leave only after commit, a rollback sends nothing, reads hold no write lock."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq.job import Job as RQJob
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender import work
from sender.db import utcnow
from sender.enums import Channel
from sender.models import ContactList
from sender.runtime import Runtime
from sender.tasks.queue import QUEUES, TASKS, RQJobPort, batch_timeout
from sender.web.session import get_session, keep_on_error
from sender.work.jobs import LaunchCampaign, RunImport, SendBatch, SendPortalLink


def _job_ids(runtime: Runtime, name: str) -> list[str]:
    return runtime.queue(name).job_ids


def test_a_job_is_sent_only_when_its_unit_commits(runtime: Runtime, redis_conn: Any) -> None:
    session = runtime.Session()
    work.enqueue(session, SendBatch(campaign_id=7, batch_no=0, channel="email"))

    assert _job_ids(runtime, "email") == []
    work.commit(session, "test")

    job = runtime.queue("email").fetch_job("campaign-7-batch-0")
    assert job is not None
    assert job.func_name == TASKS[SendBatch] == "sender.tasks.jobs.send_batch"
    assert job.args == [7, 0]
    assert job.timeout == batch_timeout(runtime.settings.send_batch_size)
    session.close()


def test_a_rollback_sends_nothing_and_forgets_the_jobs(runtime: Runtime, redis_conn: Any) -> None:
    session = runtime.Session()
    work.enqueue(session, SendPortalLink(contact_id=3))
    session.rollback()
    work.commit(session, "after the rollback")

    assert _job_ids(runtime, "default") == []
    assert work.pending(session) == []
    session.close()


def test_a_savepoint_rolled_back_keeps_the_units_jobs(runtime: Runtime, redis_conn: Any) -> None:
    session = runtime.Session()
    work.enqueue(session, SendPortalLink(contact_id=4))
    nested = session.begin_nested()
    nested.rollback()
    work.commit(session, "test")

    assert len(_job_ids(runtime, "default")) == 1
    session.close()


def test_each_channel_has_its_own_queue(runtime: Runtime, redis_conn: Any) -> None:
    with work.unit(runtime.Session, "test") as session:
        work.enqueue(session, SendBatch(campaign_id=1, batch_no=0, channel="email"))
        work.enqueue(session, SendBatch(campaign_id=2, batch_no=0, channel="sms"))

    assert _job_ids(runtime, "email") == ["campaign-1-batch-0"]
    assert _job_ids(runtime, "sms") == ["campaign-2-batch-0"]


def test_workers_listen_to_every_channels_queue_between_transactional_and_default() -> None:
    # Transactional messages first, the rest last; each channel's batches and launches in a queue of its own.
    assert QUEUES[0] == "transactional" and QUEUES[-1] == "default" and len(set(QUEUES)) == len(QUEUES)
    assert len(QUEUES) == len(Channel) + 2
    for channel in Channel:
        assert SendBatch(campaign_id=1, batch_no=0, channel=channel).queue in QUEUES[1:-1]
        assert LaunchCampaign(campaign_id=1, channel=channel).queue in QUEUES[1:-1]


def test_a_waiting_batch_is_not_asked_for_twice_but_a_restart_is(runtime: Runtime, redis_conn: Any) -> None:
    for _ in range(2):
        with work.unit(runtime.Session, "test") as session:
            work.enqueue(session, SendBatch(campaign_id=5, batch_no=1, channel="email"))
    with work.unit(runtime.Session, "test") as session:
        work.enqueue(session, SendBatch(campaign_id=5, batch_no=1, channel="email", restart="r1"))

    assert sorted(_job_ids(runtime, "email")) == ["campaign-5-batch-1", "campaign-5-batch-1-r1"]


def test_a_launch_is_scheduled_then_pulled_forward_once(runtime: Runtime, redis_conn: Any) -> None:
    launch = LaunchCampaign(campaign_id=9, channel="email")
    with work.unit(runtime.Session, "test") as session:
        work.schedule_at(session, launch, utcnow() + timedelta(days=1))
    registry = ScheduledJobRegistry(queue=runtime.queue("email"))
    assert registry.get_job_ids() == ["campaign-9-launch"]

    for _ in range(2):
        with work.unit(runtime.Session, "due now") as session:
            work.enqueue(session, launch)

    assert registry.get_job_ids() == []
    assert _job_ids(runtime, "email") == ["campaign-9-launch"]
    with work.unit(runtime.Session, "test") as session:
        assert work.state(session, launch) == work.JobState.QUEUED


def test_an_import_run_starts_its_progress_at_zero(runtime: Runtime, redis_conn: Any) -> None:
    with work.unit(runtime.Session, "test") as session:
        work.enqueue(session, RunImport(batch_id=12, mode="analyse"))

    assert redis_conn.get("sender:import-progress:12") == b"0.0000"
    job = RQJob.fetch("import-12-analyse", connection=redis_conn, serializer=runtime.queue().serializer)
    assert job.args == [12]


def test_an_exception_in_a_unit_rolls_back_and_sends_nothing(runtime: Runtime, redis_conn: Any) -> None:
    with pytest.raises(RuntimeError, match="boom"), work.unit(runtime.Session, "test") as session:
        session.add(ContactList(name="never saved"))
        work.enqueue(session, SendPortalLink(contact_id=1))
        raise RuntimeError("boom")

    with runtime.Session() as session:
        assert session.scalar(select(ContactList).where(ContactList.name == "never saved")) is None
    assert _job_ids(runtime, "default") == []


def test_a_queue_down_after_commit_keeps_the_data_and_says_so(runtime: Runtime, db_session: Session) -> None:
    # Nothing listens on port 1: the commit succeeds, the send fails, and the caller is told which jobs wait.
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    work.bind_port(runtime.Session, RQJobPort(runtime.settings, lambda: dead))
    session = runtime.Session()
    session.add(ContactList(name="kept"))
    job = SendPortalLink(contact_id=2)
    work.enqueue(session, job)

    with pytest.raises(work.QueueDown) as raised:
        work.commit(session, "a step")

    assert raised.value.jobs == [job]
    assert raised.value.step == "a step"
    assert db_session.scalar(select(ContactList).where(ContactList.name == "kept")) is not None
    session.close()


def test_an_after_commit_action_runs_once_committed_never_after_a_rollback(
    runtime: Runtime, connection: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    session = runtime.Session()
    work.after_commit(session, "dropped", lambda: ran.append("after a rollback"))
    session.rollback()
    session.add(ContactList(name="written before the notice"))
    work.after_commit(session, "notice", lambda: ran.append(f"open: {connection.in_nested_transaction()}"))
    work.after_commit(session, "broken notice", lambda: 1 / 0)

    assert ran == []
    work.commit(session, "test")  # the broken one is logged, not raised: the data is committed

    assert ran == ["open: False"]  # the unit's transaction (here a savepoint) was over
    assert "broken notice after commit failed: ZeroDivisionError" in caplog.text
    session.close()


def test_a_session_without_a_port_refuses_a_job_before_any_commit(runtime: Runtime) -> None:
    bare = Session(bind=runtime.engine)
    with pytest.raises(RuntimeError, match="no job port"):
        work.enqueue(bare, SendPortalLink(contact_id=1))
    bare.close()


def test_a_reading_session_holds_no_write_lock(committed: Runtime) -> None:
    # A CSV export reads for as long as the download lasts; writers must not wait for it (SQLite: BEGIN, not
    # BEGIN IMMEDIATE). On PostgreSQL readers never block writers: the same test holds there too.
    with work.reading(committed.Session) as reader:
        reader.execute(select(ContactList)).all()
        if committed.settings.database_url.startswith("sqlite"):
            path = committed.settings.database_url.removeprefix("sqlite:///")
            other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            other.close()
        with work.unit(committed.Session, "writer") as writer:
            writer.add(ContactList(name="written during a read"))
        # The reader's transaction is a snapshot or a fresh read; either way it wrote nothing.
        assert not reader.new and not reader.dirty


def _app_with_route(app: Flask, status: int, keep: bool = False) -> None:
    def write() -> tuple[str, int]:
        get_session().add(ContactList(name=f"from a request answering {status}"))
        work.enqueue(get_session(), SendPortalLink(contact_id=6))
        if keep:
            keep_on_error()
        return "done", status

    app.add_url_rule(
        f"/_test/write/{status}/{int(keep)}", f"write_{status}_{int(keep)}", write, methods=["POST"]
    )


@pytest.mark.parametrize(
    ("status", "keep", "saved"),
    [(200, False, True), (303, False, True), (422, False, False), (401, True, True)],
)
def test_a_request_commits_once_its_view_answers_without_error(
    app: Flask, runtime: Runtime, db_session: Session, redis_conn: Any, status: int, keep: bool, saved: bool
) -> None:
    _app_with_route(app, status, keep)

    response = app.test_client().post(f"/_test/write/{status}/{int(keep)}")

    assert response.status_code == status
    found = db_session.scalar(
        select(ContactList).where(ContactList.name == f"from a request answering {status}")
    )
    assert (found is not None) is saved
    assert len(_job_ids(runtime, "default")) == (1 if saved else 0)


def test_a_request_whose_jobs_cannot_be_sent_answers_503_with_its_work_saved(
    app: Flask, runtime: Runtime, db_session: Session
) -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    work.bind_port(runtime.Session, RQJobPort(runtime.settings, lambda: dead))
    _app_with_route(app, 200)

    response = app.test_client().post("/_test/write/200/0")

    assert response.status_code == 503
    assert db_session.scalar(select(ContactList).where(ContactList.name == "from a request answering 200"))


def test_a_scheduled_job_goes_to_the_schedulers_registry(runtime: Runtime, redis_conn: Any) -> None:
    when = datetime(2030, 1, 1, 9, 0)
    with work.unit(runtime.Session, "test") as session:
        work.schedule_at(session, LaunchCampaign(campaign_id=11, channel="sms"), when)

    registry = ScheduledJobRegistry(queue=runtime.queue("sms"))
    assert registry.get_job_ids() == ["campaign-11-launch"]
    assert _job_ids(runtime, "sms") == []
