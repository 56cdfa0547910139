"""When a step is due: its delay after a moment, then, if it names one, the next such time of day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sender.enums import DelayUnit
from sender.models import SequenceStep


def parse_time(raw: str) -> time:
    """ "HH:MM" as a time of day (ValueError if it is not one)."""
    hours, _, minutes = raw.partition(":")
    if len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(raw)
    return time(int(hours), int(minutes))


def delay(step: SequenceStep) -> timedelta:
    """The step's wait as a duration."""
    unit = timedelta(hours=1) if step.delay_unit == DelayUnit.HOURS else timedelta(days=1)
    return step.delay_value * unit


def due_at(after: datetime, step: SequenceStep, zone: ZoneInfo) -> datetime:
    """The naive UTC moment `step` is due when the previous one (or the entry) happened at `after`."""
    moment = after + delay(step)
    if not step.at_time:
        return moment
    # The time of day is the organisation's wall clock: 09:00 stays 09:00 across a DST change.
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    wanted = parse_time(step.at_time)
    candidate = datetime.combine(local.date(), wanted, tzinfo=zone)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), wanted, tzinfo=zone)
    return candidate.astimezone(UTC).replace(tzinfo=None)
