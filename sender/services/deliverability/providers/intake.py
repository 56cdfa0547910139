"""The reports a provider webhook read, applied by the one feedback service; the caller commits."""

from __future__ import annotations

from collections import Counter

from sqlalchemy.orm import Session

from sender.config import Settings
from sender.services.accounts import organisation
from sender.services.deliverability import feedback
from sender.services.deliverability.feedback import Feedback, Outcome


def apply_reports(session: Session, settings: Settings, reports: list[Feedback]) -> Counter[Outcome]:
    """Apply the request's reports as one batch, each once (a replay is a duplicate); how many were
    applied, duplicate or unknown."""
    if not reports:
        return Counter()
    sending = organisation.with_sending_address(session, settings)
    return Counter(feedback.apply_many(session, sending, reports))
