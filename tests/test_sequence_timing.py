"""When a step is due: its delay, then the next time of day on the organisation's wall clock (DST included)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sender.models import SequenceStep
from sender.services.sequences.timing import due_at

PARIS = ZoneInfo("Europe/Paris")


def _step(value: int, unit: str, at: str | None = None) -> SequenceStep:
    return SequenceStep(delay_value=value, delay_unit=unit, at_time=at)


def test_a_plain_delay_adds_hours_or_days() -> None:
    start = datetime(2027, 1, 10, 15, 0)
    assert due_at(start, _step(0, "hours"), PARIS) == start
    assert due_at(start, _step(5, "hours"), PARIS) == datetime(2027, 1, 10, 20, 0)
    assert due_at(start, _step(2, "days"), PARIS) == datetime(2027, 1, 12, 15, 0)


def test_a_time_of_day_is_the_next_one_after_the_delay_in_the_organisation_zone() -> None:
    # 15:00 UTC is 16:00 in Paris in winter: 09:00 has passed that day, so the next morning (08:00 UTC).
    assert due_at(datetime(2027, 1, 10, 15, 0), _step(2, "days", "09:00"), PARIS) == datetime(
        2027, 1, 13, 8, 0
    )
    # 06:00 UTC is 07:00 in Paris: 09:00 the same day.
    assert due_at(datetime(2027, 1, 12, 6, 0), _step(0, "days", "09:00"), PARIS) == datetime(
        2027, 1, 12, 8, 0
    )


def test_the_wall_clock_time_holds_across_a_dst_change() -> None:
    # Clocks go forward on 28 March 2027: 09:00 in Paris is 08:00 UTC before, 07:00 UTC after.
    assert due_at(datetime(2027, 3, 26, 12, 0), _step(2, "days", "09:00"), PARIS) == datetime(
        2027, 3, 29, 7, 0
    )
