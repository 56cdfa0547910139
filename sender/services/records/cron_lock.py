"""Named leases for cron runs: a second run while one holds the lease does nothing.

A row per name, taken by one UPDATE guarded on "free or expired", works the same on PostgreSQL and SQLite.
A run that crashes leaves its lease; the next run takes it over once it has expired (each chunk of work
renews it), and resumes where the crashed one stopped because every step is recorded as it is done.
Taking, renewing and releasing a lease are named steps of the run's unit of work: each commits what the run
did so far.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sender import work
from sender.db import rowcount, utcnow
from sender.models import CronLock

LEASE_SECONDS = 300


class Lease:
    """A held lease; renew() after each chunk of work, release() at the end."""

    def __init__(self, session: Session, name: str, token: str, seconds: int) -> None:
        self.session, self.name, self.token, self.seconds = session, name, token, seconds

    def renew(self, now: datetime | None = None) -> bool:
        """Push the expiry forward; False if another run took the lease over (this one should stop)."""
        done = rowcount(
            self.session.execute(
                update(CronLock)
                .where(CronLock.name == self.name, CronLock.holder == self.token)
                .values(expires_at=(now or utcnow()) + timedelta(seconds=self.seconds))
            )
        )
        work.commit(self.session, f"{self.name}: lease renewed")
        return done == 1

    def release(self) -> None:
        """Free the lease for the next run."""
        self.session.rollback()
        self.session.execute(
            update(CronLock)
            .where(CronLock.name == self.name, CronLock.holder == self.token)
            .values(holder=None, expires_at=None)
        )
        work.commit(self.session, f"{self.name}: lease released")


def acquire(
    session: Session, name: str, seconds: int = LEASE_SECONDS, now: datetime | None = None
) -> Lease | None:
    """Take the lease called `name`, or None when another run holds it; commits."""
    now = now or utcnow()
    table = cast(Table, CronLock.__table__)
    dialect = session.get_bind().dialect.name
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    session.execute(insert.values(name=name, holder=None, expires_at=None).on_conflict_do_nothing())
    token = uuid.uuid4().hex
    taken = rowcount(
        session.execute(
            update(CronLock)
            .where(CronLock.name == name, or_(CronLock.holder.is_(None), CronLock.expires_at <= now))
            .values(holder=token, expires_at=now + timedelta(seconds=seconds))
        )
    )
    work.commit(session, f"{name}: lease taken")
    return Lease(session, name, token, seconds) if taken == 1 else None
