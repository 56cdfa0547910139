"""A batch's messages in flight: each one's start, recorded before it leaves; their outcomes; database outages.

A sending thread asks `start(delivery_id)` just before it hands a message to the provider (SMTP transaction,
Twilio call). The batch's own thread answers: it marks every waiting delivery `started_at` in one UPDATE,
guarded by its claim token, and commits before any of them may go. So after a crash a delivery is `unknown`
only if it had started; a claim that never started is put back in the queue when its lease expires, and if
the sweep took it back meanwhile, the guard refuses the start: nothing is ever sent twice.

While the database is unreachable nothing starts, the outcomes of what was already on the wire stay in
memory, and each step is tried again until the database answers (OUTAGE_PATIENCE_SECONDS at most): an
outcome is written when the database returns instead of being guessed after the lease.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar, cast

from sqlalchemy import DateTime, String, Table, bindparam, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from sender import work
from sender.db import utcnow
from sender.enums import DeliveryStatus
from sender.models import Contact, Delivery
from sender.services.campaigns.outlet import Attempt, Outlet

log = logging.getLogger(__name__)

T = TypeVar("T")
# How long a batch keeps what it holds while the database is unreachable before giving up (below the
# default lease, so the sweep never judges a claim its worker still means to record).
OUTAGE_PATIENCE_SECONDS = 300
FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 5.0

# Set in a job process told to stop (SIGTERM to its worker): claim nothing more, start nothing more.
STOPPING = threading.Event()


def stop_sending() -> None:
    """This process is stopping: batches claim and start nothing more, and give back what they hold."""
    STOPPING.set()


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means the database could not be reached (worth waiting for), not a fault."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


def through_outage(session: Session, step: str, write: Callable[[], T], keep: Any = None) -> T:
    """Run `write` (a step that ends with its commit) until the database answers; `keep` is restored before
    each new try (the counters the step updates), so a retried step counts once.

    After a failure the session is closed, not rolled back: a rollback would expire the contacts that the
    sending threads are rendering, and reloading them would use this session from those threads.
    """
    deadline = time.monotonic() + OUTAGE_PATIENCE_SECONDS
    pause = FIRST_PAUSE_SECONDS
    saved = copy.deepcopy(vars(keep)) if keep is not None else None
    while True:
        try:
            return write()
        except DBAPIError as exc:
            if not unreachable(exc) or time.monotonic() + pause > deadline:
                raise
            session.close()
            if keep is not None and saved is not None:
                vars(keep).update(copy.deepcopy(saved))
            log.warning(
                "%s: the database is unreachable (%s); trying again in %ss", step, type(exc).__name__, pause
            )
            time.sleep(pause)
            pause = min(MAX_PAUSE_SECONDS, pause * 2)


def _start_statement() -> Any:
    """The UPDATE that marks claimed deliveries started, if they are still ours and unstarted."""
    # On the table, not the entity: the ORM's bulk-update machinery costs more than the statement here.
    table = cast(Table, Delivery.__table__)
    return (
        update(table)
        .where(
            table.c.id.in_(bindparam("ids", expanding=True)),
            table.c.claim_token == bindparam("token", type_=String),
            table.c.status == DeliveryStatus.SENDING,
            table.c.started_at.is_(None),
        )
        .values(started_at=bindparam("now", type_=DateTime))
        .returning(table.c.id)
    )


_START = _start_statement()


def mark_started(session: Session, token: str, delivery_ids: list[int]) -> set[int]:
    """Mark claimed deliveries started, if they are still ours and unstarted; the ids marked. The caller commits."""
    rows = session.execute(
        _START,
        {"ids": delivery_ids, "token": token, "now": utcnow()},
        # No Delivery objects are loaded in a batch's session: nothing to synchronise, nothing to scan.
        execution_options={"synchronize_session": False},
    ).all()
    return {row.id for row in rows}


Harvest = tuple[list[tuple[int, Contact, Attempt]], list[int], BaseException | None]


class InFlight:
    """The messages a batch has handed to its outlet, and the start requests of the sending threads.

    Every call is made from the batch's thread, the only one that uses the session.
    """

    def __init__(self, session: Session, token: str) -> None:
        self.session, self.token = session, token
        self.messages: dict[Future[Attempt], tuple[int, Contact]] = {}
        # Start requests (delivery id, answer) and wake-ups (None) when a message is done.
        self._events: queue.SimpleQueue[tuple[int, Future[bool]] | None] = queue.SimpleQueue()
        self.refusing = False
        # Each start is one statement committed by itself (work.SoloSteps).
        self._starts = work.SoloSteps(session)

    def close(self) -> None:
        """Give back the connection of the start records (the batch is over)."""
        self._starts.close()

    def __len__(self) -> int:
        return len(self.messages)

    def submit(self, outlet: Outlet, render: Callable[[], Any], delivery_id: int, contact: Contact) -> None:
        """Hand one claimed message to the outlet; it starts only once this batch says so."""
        future = outlet.submit(render, lambda: self._ask(delivery_id))
        self.messages[future] = (delivery_id, contact)
        future.add_done_callback(lambda _f: self._events.put(None))

    def _ask(self, delivery_id: int) -> bool:
        """Called from a sending thread: may this message start now? (Blocks until the batch answers.)"""
        answer: Future[bool] = Future()
        self._events.put((delivery_id, answer))
        try:
            # The batch answers within an outage's patience; should it never answer, not sending is safe.
            return answer.result(timeout=OUTAGE_PATIENCE_SECONDS + MAX_PAUSE_SECONDS * 12)
        except TimeoutError:
            return False

    def harvest(self, at_least: int) -> Harvest:
        """Answer start requests until `at_least` messages are done; take those out.

        Returns (attempts, ids whose send raised, the first such error).
        """
        finished: list[Future[Attempt]] = []
        while self.messages:
            finished = [f for f in self.messages if f.done()]
            if len(finished) >= at_least:
                break
            requests = [self._events.get()]
            while not self._events.empty():
                requests.append(self._events.get())
            self._answer([r for r in requests if r is not None])
        done: list[tuple[int, Contact, Attempt]] = []
        failed: list[int] = []
        error: BaseException | None = None
        for future in finished:
            delivery_id, contact = self.messages.pop(future)
            try:
                done.append((delivery_id, contact, future.result()))
            except BaseException as exc:  # re-raised by the caller once what went out is recorded
                failed.append(delivery_id)
                error = error or exc
        return done, failed, error

    def _answer(self, requests: list[tuple[int, Future[bool]]]) -> None:
        """Mark the asking deliveries started (one UPDATE, committed) and let those go; refuse when stopping."""
        if not requests:
            return
        allowed: set[int] = set()
        try:
            if not (self.refusing or STOPPING.is_set()):
                ids = [delivery_id for delivery_id, _ in requests]

                def write() -> set[int]:
                    params = {"ids": ids, "token": self.token, "now": utcnow()}
                    return {row.id for row in self._starts.run("start", _START, params)}

                allowed = through_outage(self.session, "start", write)
        except BaseException:
            # Not marked, so not sent: these claims go back to the queue, and so will every later one.
            self.refusing = True
            raise
        finally:
            # Every asking thread gets its answer, whatever happened: none may wait forever.
            for delivery_id, answer in requests:
                answer.set_result(delivery_id in allowed)
