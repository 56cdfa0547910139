"""`sender retention run` (R48, R51, R53) with an injected clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.cli.main import cli
from sender.config import ConfigError, load_settings
from sender.db import utcnow
from sender.models import (
    AuditEvent,
    Campaign,
    Contact,
    Delivery,
    Requalification,
    RequalificationAsk,
    Suppression,
)
from sender.runtime import Runtime
from sender.services.records import cron_lock
from sender.services.rights import retention
from tests.campaign_helpers import grant
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

YEARS_3 = timedelta(days=1095)


def _status(session: Session, contact_id: int) -> str:
    session.expire_all()
    contact = session.get(Contact, contact_id)
    assert contact is not None
    return contact.status


def test_each_purpose_retention_decides_on_both_sides_of_the_boundary(
    db_session: Session, runtime: Runtime, redis_conn: Any
) -> None:
    now = utcnow()
    short = PurposeFactory(retention_days=365)
    long = PurposeFactory(retention_days=1095)
    for purpose in (short, long):
        WordingFactory(purpose=purpose)
    inside = ContactFactory(last_interaction_at=now - YEARS_3 + timedelta(days=1))
    outside = ContactFactory(last_interaction_at=now - YEARS_3 - timedelta(days=1))
    short_only = ContactFactory(last_interaction_at=now - timedelta(days=400))
    long_keeps = ContactFactory(last_interaction_at=now - timedelta(days=400))
    for contact in (inside, outside):
        grant(db_session, contact, long, at=now - YEARS_3 - timedelta(days=2))
    grant(db_session, short_only, short, at=now - timedelta(days=500))
    grant(db_session, long_keeps, short, at=now - timedelta(days=500))
    grant(db_session, long_keeps, long, at=now - timedelta(days=500))
    # The ledger moved the clocks forward with the grants: put them back where the test wants them.
    inside.last_interaction_at = now - YEARS_3 + timedelta(days=1)
    outside.last_interaction_at = now - YEARS_3 - timedelta(days=1)
    short_only.last_interaction_at = long_keeps.last_interaction_at = now - timedelta(days=400)
    never_consented_old = ContactFactory(created_at=now - YEARS_3 - timedelta(days=1))
    never_consented_new = ContactFactory(created_at=now - timedelta(days=10))
    digest = outside.email_hash
    db_session.commit()

    report = retention.run(runtime, now=now)

    assert report.erased == 3
    assert _status(db_session, outside.id) == "erased"
    assert _status(db_session, short_only.id) == "erased"
    assert _status(db_session, never_consented_old.id) == "erased"
    for kept in (inside, long_keeps, never_consented_new):
        assert _status(db_session, kept.id) == "active"
    assert db_session.scalar(select(Suppression.channel).where(Suppression.address_hash == digest)) == "email"
    # Idempotent: nothing more to do.
    assert retention.run(runtime, now=now).erased == 0
    audit = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.run")).all()
    assert [a.details["erased"] for a in audit] == [3, 0]


def test_unconfirmed_sign_ups_are_purged_and_delivery_logs_age_out(
    db_session: Session, runtime: Runtime, redis_conn: Any
) -> None:
    now = utcnow()
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    pending_old = ContactFactory(status="pending", created_at=now - timedelta(days=8))
    pending_new = ContactFactory(status="pending", created_at=now - timedelta(days=1))
    contact = ContactFactory()
    grant(db_session, contact, purpose)
    campaign = Campaign(name="c", purpose_id=purpose.id, channel="email", subject="s", body_text="t")
    db_session.add(campaign)
    db_session.flush()
    old = Delivery(
        campaign_id=campaign.id, contact_id=contact.id, status="failed", last_error="550 <x@example.org> unknown",
        provider_id="abc", created_at=now - timedelta(days=400),
    )  # fmt: skip
    db_session.add(old)
    db_session.commit()
    pending_old_id = pending_old.id

    report = retention.run(runtime, now=now)

    assert report.signups_purged == 1 and report.delivery_logs_aged == 1
    db_session.expire_all()
    assert db_session.get(Contact, pending_old_id) is None
    assert db_session.get(Contact, pending_new.id) is not None
    aged = db_session.get(Delivery, old.id)
    assert aged is not None and (aged.last_error, aged.provider_id, aged.status) == (None, None, "failed")


def test_a_second_run_while_one_holds_the_lock_does_nothing(
    db_session: Session, runtime: Runtime, redis_conn: Any
) -> None:
    old = ContactFactory(created_at=utcnow() - YEARS_3 - timedelta(days=1))
    db_session.commit()
    lease = cron_lock.acquire(runtime.Session(), retention.LOCK)
    assert lease is not None
    assert retention.run(runtime).locked
    assert _status(db_session, old.id) == "active"
    lease.release()
    assert retention.run(runtime).erased == 1


def test_the_commands_print_their_counts(committed: Runtime, base_env: dict[str, str]) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["retention", "run"], env=base_env)
    assert result.exit_code == 0, result.output
    assert "erased=0 archived=0 signups_purged=0 delivery_logs_aged=0" in result.output
    result = runner.invoke(cli, ["requalify", "run"], env=base_env)
    assert result.exit_code == 0, result.output
    assert "cycles=0 asked=0 batches=0 cancelled=0" in result.output
    with committed.Session() as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions == ["retention.run", "requalify.run"]
        assert session.scalar(select(func.count()).select_from(Contact)) == 0


def test_the_settings_are_checked_at_start_up(tmp_path: Path) -> None:
    base = {"INSTANCE_PATH": str(tmp_path)}
    defaults = load_settings(base)
    assert (defaults.requalification_silence, defaults.requalification_deadline_days) == ("erase", 30)
    assert defaults.requalification_separate_approval and defaults.automated_click_seconds == 10
    chosen = load_settings(
        {
            **base,
            "REQUALIFICATION_SILENCE": "Archive",
            "REQUALIFICATION_SEPARATE_APPROVAL": "0",
            "DELIVERY_LOG_DAYS": "90",
        }
    )
    assert chosen.requalification_silence == "archive" and not chosen.requalification_separate_approval
    assert chosen.delivery_log_days == 90
    for name, value in (("REQUALIFICATION_SILENCE", "forget"), ("REQUALIFICATION_SEPARATE_APPROVAL", "yes")):
        with pytest.raises(ConfigError, match=name):
            load_settings({**base, name: value})


def test_an_open_question_waits_for_its_deadline_unless_the_cycle_was_cancelled(
    db_session: Session, runtime: Runtime, redis_conn: Any
) -> None:
    now = utcnow()
    purpose = PurposeFactory()
    waiting, orphan = (ContactFactory(created_at=now - YEARS_3 - timedelta(days=1)) for _ in range(2))
    for status, contact in (("sending", waiting), ("cancelled", orphan)):
        campaign = Campaign(
            name="r", purpose_id=purpose.id, channel="email", kind="requalification", subject="s", body_text="t",
            status=status,
        )  # fmt: skip
        db_session.add(campaign)
        db_session.flush()
        db_session.add(
            Requalification(campaign_id=campaign.id, deadline=now + timedelta(days=3), wording_version=1)
        )
        db_session.add(
            RequalificationAsk(campaign_id=campaign.id, contact_id=contact.id, purpose_id=purpose.id)
        )
    db_session.commit()
    assert retention.run(runtime, now=now).erased == 1
    assert (_status(db_session, waiting.id), _status(db_session, orphan.id)) == ("active", "erased")
