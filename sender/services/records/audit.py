"""The audit trail: append-only, hash-chained so that any edit, deletion, insertion or reordering shows.

Appending takes no lock: `record` inserts the event unsealed, and once its transaction commits a sealer
gives the waiting events their place in the chain (`seq`), the previous event's hash and their own hash.
Only sealers run one at a time (an advisory lock on PostgreSQL; SQLite has one writer anyway), and one
seal takes every event waiting, so audited transactions run side by side. Checkpoints record the
chain's head under an HMAC of the signing key: a deleted tail shows against the last one, and the
printed checkpoint can be kept outside the database too.

Events carry ids and action names only, never personal data, so erasure leaves the chain verifiable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Select, Table, bindparam, event, insert, or_, select, text, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from sender import work
from sender.db import utcnow
from sender.models import AuditCheckpoint, AuditEvent

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# The advisory lock that makes sealers take turns on PostgreSQL.
SEAL_LOCK = 7261
SEAL_BATCH = 500
_SEAL_PENDING = "audit.seal_pending"
_TABLE = cast(Table, AuditEvent.__table__)
_INSERT = insert(_TABLE)
_LINK = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash"))
)


# What a seal reads of each event: its id, and the facts its hash covers beside the previous hash.
_HASHED = (
    AuditEvent.id,
    AuditEvent.occurred_at,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.subject_type,
    AuditEvent.subject_id,
    AuditEvent.details,
)


def _digest(prev_hash: str | None, row: Any) -> str:
    body = json.dumps(
        [
            prev_hash,
            row.occurred_at.isoformat(),
            row.actor,
            row.action,
            row.subject_type,
            row.subject_id,
            row.details,
        ],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str | int,
    details: dict[str, Any] | None = None,
) -> None:
    """Append an audit event (ids only, never addresses); it is chained once its transaction commits."""
    # One plain INSERT on the unit's connection: no ORM object, no RETURNING. Auditing rides on the busiest
    # writes (every unsubscribe), whose requests share one process and its GIL (bench/audit_append.py).
    now = utcnow().replace(microsecond=0)
    session.connection().execute(_INSERT, _row(now, Entry(actor, action, subject_type, subject_id, details)))
    _ask_for_seal(session)


@dataclass(frozen=True)
class Entry:
    """One event of `record_many`: who did what to which subject, with ids only."""

    actor: str
    action: str
    subject_type: str
    subject_id: str | int
    details: dict[str, Any] | None = None


def record_many(session: Session, entries: Sequence[Entry]) -> None:
    """`record` for many events at once: one executemany of plain rows, no ORM objects."""
    if not entries:
        return
    now = utcnow().replace(microsecond=0)
    session.connection().execute(_INSERT, [_row(now, entry) for entry in entries])
    _ask_for_seal(session)


def _row(now: datetime, entry: Entry) -> dict[str, Any]:
    """The columns of one unsealed event."""
    return {
        "occurred_at": now,
        "actor": entry.actor,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": str(entry.subject_id),
        "details": entry.details or {},
    }


def _ask_for_seal(session: Session) -> None:
    if not session.info.get(_SEAL_PENDING):
        session.info[_SEAL_PENDING] = True
        work.after_commit(session, "seal the audit trail", lambda: _wake_sealer(session))


@event.listens_for(Session, "after_soft_rollback")
def _forget_seal(session: Session, previous: SessionTransaction) -> None:
    # A rolled-back unit sealed nothing and wrote nothing to seal: its next event asks for a seal again.
    if previous.parent is None:
        session.info.pop(_SEAL_PENDING, None)


def _wake_sealer(session: Session) -> None:
    """After a commit: wake this process's sealer, which seals in its own transaction, off the request."""
    session.info.pop(_SEAL_PENDING, None)
    bind = session.get_bind()
    # A session bound to a connection (a test's transaction) is sealed by its owner, not in the background.
    if isinstance(bind, Engine):
        _Sealer.wake(bind)


class _Sealer(threading.Thread):
    """One background thread per engine and process: many commits, one seal (one transaction, one fsync).

    It stops after a quiet while and is started again by the next commit, so no thread outlives its use;
    a process that exits before its sealer ran (a forked job) leaves events that the next seal, the sweep
    or `sender audit verify` takes."""

    IDLE_SECONDS = 5.0
    # After a wake-up, wait this long so that the commits landing meanwhile share one seal: fewer, larger
    # seals cost the database less than one per commit (bench/audit_append.py measures it).
    GATHER_SECONDS = 0.02
    _lock = threading.Lock()
    _running: dict[tuple[int, int], _Sealer] = {}

    def __init__(self, engine: Engine) -> None:
        super().__init__(name="audit-sealer", daemon=True)
        self.engine = engine
        self.factory = sessionmaker(bind=engine)
        self.key = (id(engine), os.getpid())
        self.pending = threading.Event()

    @classmethod
    def wake(cls, engine: Engine) -> None:
        """Ask the engine's sealer to run, starting it if there is none in this process."""
        with cls._lock:
            sealer = cls._running.get((id(engine), os.getpid()))
            if sealer is None:
                sealer = cls._running[(id(engine), os.getpid())] = cls(engine)
                sealer.start()
            sealer.pending.set()

    def run(self) -> None:
        """Seal whenever woken; stop after IDLE_SECONDS without a wake-up."""
        while True:
            if not self.pending.wait(self.IDLE_SECONDS):
                with self._lock:
                    if not self.pending.is_set():
                        del self._running[self.key]
                        return
            time.sleep(self.GATHER_SECONDS)
            self.pending.clear()
            try:
                with work.unit(self.factory, "seal the audit trail") as session:
                    seal(session)
            except Exception as exc:  # the events stay unsealed; the next seal takes them
                log.warning("sealing the audit trail failed: %s", type(exc).__name__)


def seal(session: Session, *, wait: bool = True) -> int:
    """Chain every committed event not yet sealed, in id order after the current head; how many.

    With `wait=False` it gives up at once when another sealer holds the turn. The caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        if wait:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEAL_LOCK})
        elif not session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SEAL_LOCK}):
            return 0
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (head.seq, head.hash) if head is not None else (0, GENESIS)
    sealed = 0
    while True:
        # Plain rows and one executemany, not ORM objects: sealing shares the process (and its GIL) with
        # the requests whose events it seals, so its Python work is kept small.
        rows = session.execute(
            select(*_HASHED).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(SEAL_BATCH)
        ).all()
        if not rows:
            _expire_loaded(session)
            return sealed
        links = []
        for row in rows:
            seq += 1
            digest = _digest(prev, row)
            links.append({"row_id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
            prev = digest
        session.connection().execute(_LINK, links)
        sealed += len(rows)


def _expire_loaded(session: Session) -> None:
    """Forget the chain links of events this session holds, so they are read again as sealed."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, AuditEvent):
            session.expire(obj, ["seq", "prev_hash", "hash"])


def verify_chain(session: Session) -> int | None:
    """Return the id of the first sealed event whose hash or link is wrong, or None if the chain holds."""
    prev = GENESIS
    for row in session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    ):
        if row.prev_hash != prev or _digest(prev, row) != row.hash:
            return row.id
        prev = row.hash
    return None


def _mac(keys: Sequence[str], seq: int, head: str) -> list[str]:
    """The checkpoint's HMAC under each key (the last one signs, as for links; every key verifies)."""
    message = f"audit-checkpoint:{seq}:{head}".encode()
    return [hmac.new(key.encode(), message, hashlib.sha256).hexdigest() for key in keys]


def checkpoint(session: Session, keys: Sequence[str]) -> AuditCheckpoint:
    """Seal what waits and record the chain's head (position, hash) under an HMAC; the caller commits."""
    seal(session)
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, digest = (head.seq, head.hash) if head is not None and head.hash else (0, GENESIS)
    point = AuditCheckpoint(created_at=utcnow(), seq=seq, hash=digest, mac=_mac(keys, seq, digest)[-1])
    session.add(point)
    session.flush()
    return point


@dataclass(frozen=True)
class Verification:
    """What `verify` found: the events and checkpoints checked, and the first problem, if any."""

    events: int
    checkpoints: int
    unsealed: int
    broken_event: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the chain and every checkpoint hold."""
        return self.problem is None


def verify(session: Session, keys: Sequence[str]) -> Verification:
    """Walk the chain, then hold every checkpoint against it: its HMAC, and the event at its position."""
    events = session.query(AuditEvent).where(AuditEvent.seq.is_not(None)).count()
    unsealed = session.query(AuditEvent).where(AuditEvent.seq.is_(None)).count()
    points = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)).all()
    broken = verify_chain(session)
    if broken is not None:
        problem = f"audit event {broken} was edited, or an event before it was deleted, inserted or moved"
        return Verification(events, len(points), unsealed, broken, problem)
    for point in points:
        if not any(hmac.compare_digest(point.mac, mac) for mac in _mac(keys, point.seq, point.hash)):
            return Verification(events, len(points), unsealed, None, f"checkpoint {point.id} is forged")
        if point.seq == 0:
            continue
        at = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == point.seq))
        if at != point.hash:
            problem = (
                f"checkpoint {point.id} (position {point.seq}) no longer matches the chain: "
                "events up to it were deleted or rewritten"
            )
            return Verification(events, len(points), unsealed, None, problem)
    return Verification(events, len(points), unsealed)


@dataclass(frozen=True)
class Filters:
    """What the DPO narrows the trail to; every field optional."""

    action: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(filters: Filters) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if filters.action:
        # An action or its family: "consent" finds consent.withdraw and consent.objection.
        stmt = stmt.where(
            or_(AuditEvent.action == filters.action, AuditEvent.action.startswith(f"{filters.action}."))
        )
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor == filters.actor)
    if filters.subject:
        stmt = stmt.where(AuditEvent.subject_id == filters.subject)
    if filters.since:
        stmt = stmt.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        stmt = stmt.where(AuditEvent.occurred_at < filters.until)
    return stmt


def page(
    session: Session, filters: Filters, *, before_id: int | None = None, limit: int = 100
) -> list[AuditEvent]:
    """A page of the trail, newest first, under the filters."""
    stmt = _filtered(filters)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))


EXPORT_FIELDS = (
    "id",
    "seq",
    "occurred_at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "details",
    "prev_hash",
    "hash",
)


def as_row(row: AuditEvent) -> dict[str, Any]:
    """One event as plain values: what the exports and the API give of it."""
    return {
        "id": row.id,
        "seq": row.seq,
        "occurred_at": row.occurred_at.isoformat() + "Z",
        "actor": row.actor,
        "action": row.action,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "details": row.details,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def export_rows(session: Session, filters: Filters) -> Iterator[dict[str, Any]]:
    """Every event under the filters, oldest first, as plain values (for CSV and JSON exports)."""
    for row in session.scalars(_filtered(filters).order_by(AuditEvent.id).execution_options(yield_per=1000)):
        yield as_row(row)


VERIFY_ACTION = "audit.verify"


def verify_and_record(session: Session, keys: Sequence[str], actor: str) -> Verification:
    """Seal, verify, and append the result to the trail itself, where the dashboard reads the last one."""
    seal(session)
    result = verify(session, keys)
    details: dict[str, Any] = {"ok": result.ok, "events": result.events, "checkpoints": result.checkpoints}
    if result.broken_event is not None:
        details["broken_event"] = result.broken_event
    if result.problem:
        details["problem"] = result.problem
    record(session, actor, VERIFY_ACTION, "audit", "trail", details)
    return result


def last_verification(session: Session) -> AuditEvent | None:
    """The most recent recorded verification, if any."""
    return session.scalar(
        select(AuditEvent).where(AuditEvent.action == VERIFY_ACTION).order_by(AuditEvent.id.desc()).limit(1)
    )
