"""The breach register's clock (R74): 72 elapsed hours across a clock change, `sender breaches overdue`'s
exit codes, and a late notification refused without its reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from sender import work
from sender.cli.main import cli
from sender.runtime import Runtime
from sender.services.errors import ValidationFailed
from sender.services.records import breaches

PARIS = ZoneInfo("Europe/Paris")


def _incident(session: Session, aware_at: str, **fields: object) -> int:
    data = breaches.IncidentInput.parse(
        {
            "title": "Lost laptop",
            "facts": "A laptop with an export was stolen.",
            "aware_at": aware_at,
            **fields,
        }
    )
    return breaches.create(session, data, "user:1").id


@pytest.mark.parametrize(
    ("aware_at", "deadline_utc", "deadline_local"),
    [
        # Spring forward (29 March 2026): 72 elapsed hours end at 11:00 Paris time, not 10:00.
        ("2026-03-27T10:00:00+01:00", datetime(2026, 3, 30, 9, 0), "2026-03-30T11:00:00+02:00"),
        # Fall back (25 October 2026): they end at 09:00 Paris time, not 10:00.
        ("2026-10-23T10:00:00+02:00", datetime(2026, 10, 26, 8, 0), "2026-10-26T09:00:00+01:00"),
    ],
)
def test_the_deadline_is_72_elapsed_hours_across_a_clock_change(
    db_session: Session, aware_at: str, deadline_utc: datetime, deadline_local: str
) -> None:
    incident = breaches.get(db_session, _incident(db_session, aware_at))
    clock = breaches.countdown(incident, PARIS, now=datetime(2026, 3, 28, 9, 0))
    assert clock.deadline_utc == deadline_utc
    assert clock.deadline_local.isoformat() == deadline_local


def test_a_late_notification_is_refused_without_its_reasons_at_the_field(db_session: Session) -> None:
    incident_id = _incident(db_session, "2026-11-01T08:00:00+00:00")
    late = {"notified_at": "2026-11-04T08:01:00+00:00", "reference": "CNIL-1"}
    with pytest.raises(ValidationFailed) as refused:
        breaches.record_notification(
            db_session, incident_id, breaches.NotificationInput.parse(late), "user:1"
        )
    assert list(refused.value.errors) == ["late_reasons"]
    assert "0 h 01 min past the 72-hour deadline" in refused.value.errors["late_reasons"]
    assert breaches.get(db_session, incident_id).notified_at is None

    with_reasons = breaches.NotificationInput.parse({**late, "late_reasons": "The scope took a day to know."})
    incident = breaches.record_notification(db_session, incident_id, with_reasons, "user:1")
    assert breaches.is_late(incident) and incident.late_reasons == "The scope took a day to know."


def test_a_notification_on_time_needs_no_reasons(db_session: Session) -> None:
    incident_id = _incident(db_session, "2026-11-01T08:00:00+00:00")
    on_time = breaches.NotificationInput.parse({"notified_at": "2026-11-04T08:00:00+00:00"})
    assert not breaches.is_late(breaches.record_notification(db_session, incident_id, on_time, "user:1"))


def test_aware_at_without_its_offset_is_refused_at_the_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        breaches.IncidentInput.parse({"title": "x", "facts": "y", "aware_at": "2026-11-01T08:00:00"})
    assert refused.value.errors == {"aware_at": "must be an ISO 8601 date and time with its UTC offset"}


def test_breaches_overdue_exits_1_for_an_unnotified_incident_past_its_deadline(
    base_env: dict[str, str], committed: Runtime
) -> None:
    runner = CliRunner(env=base_env)
    assert runner.invoke(cli, ["breaches", "overdue"]).exit_code == 0

    with work.unit(committed.Session, "test") as session:
        # Aware 73 hours ago on the machine's clock: overdue. Another, aware just now, is not.
        old = _incident(session, _ago(hours=73))
        _incident(session, _ago(hours=0))
    result = runner.invoke(cli, ["breaches", "overdue"])
    assert result.exit_code == 1
    assert result.output.startswith(f"incident {old}: not notified")
    assert result.output.count("incident ") == 1

    with work.unit(committed.Session, "test") as session:
        notice = {"notified_at": _ago(hours=0), "late_reasons": "Discovered the scope late."}
        breaches.record_notification(session, old, breaches.NotificationInput.parse(notice), "user:1")
    result = runner.invoke(cli, ["breaches", "overdue"])
    assert result.exit_code == 0, result.output


def _ago(hours: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def test_breaches_export_prints_the_notification_content(
    base_env: dict[str, str], committed: Runtime
) -> None:
    with work.unit(committed.Session, "test") as session:
        incident_id = _incident(session, "2026-11-01T08:00:00+00:00", people_affected=12)
    result = CliRunner(env=base_env).invoke(cli, ["breaches", "export", str(incident_id)])
    assert result.exit_code == 0, result.output
    content = json.loads(result.output)
    assert content["nature"] == "A laptop with an export was stolen."
    assert (content["approximate_people_affected"], content["deadline"]) == (12, "2026-11-04T08:00:00Z")
    assert CliRunner(env=base_env).invoke(cli, ["breaches", "export", "999999"]).exit_code == 1
