"""One bounce or complaint message, from any mail door (IMAP mailbox, SMTP/LMTP receiver), to its effects.

The delivery is found through the VERP address the report was sent to (or the one in the message it
returns). With BOUNCE_DOMAIN set, that signed address is the only way in: a report without a valid token
changes nothing, so nobody can suppress an address by mailing a made-up bounce. Without BOUNCE_DOMAIN
(no VERP), the failed recipient the report names is matched by keyed hash instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy.orm import Session

from sender.config import Settings
from sender.services.deliverability import parse, verp
from sender.services.deliverability.feedback import Feedback, Outcome, apply_many


class Result(StrEnum):
    """What became of one message: each report's outcome, or `ignored` when it reported nothing."""

    APPLIED = Outcome.APPLIED.value
    DUPLICATE = Outcome.DUPLICATE.value
    UNKNOWN = Outcome.UNKNOWN.value
    IGNORED = "ignored"


def delivery_named(settings: Settings, addresses: Sequence[str]) -> int | None:
    """The delivery of the first valid VERP address among these; None if none is genuine."""
    for address in addresses:
        delivery_id = verp.delivery_of(settings, address)
        if delivery_id is not None:
            return delivery_id
    return None


def feedback_of(
    settings: Settings, data: bytes, source: str, envelope_recipients: Sequence[str] = ()
) -> list[Feedback]:
    """The reports one message holds, each naming its delivery (or, without VERP, its address)."""
    message = parse.load(data)
    found = parse.findings(message)
    if not found:
        return []
    delivery_id = delivery_named(settings, [*envelope_recipients, *parse.addressed_to(message)])
    by_address = delivery_id is None and not settings.deliverability.bounce_domain
    report_id = parse.report_id(message, data)
    return [
        Feedback(
            kind=finding.kind,
            report_id=report_id if len(found) == 1 else f"{report_id}#{n}",
            source=source,
            delivery_id=delivery_id,
            address=finding.recipient if by_address else None,
            detail=finding.detail,
        )
        for n, finding in enumerate(found)
    ]


def process(
    session: Session, settings: Settings, data: bytes, source: str, envelope_recipients: Sequence[str] = ()
) -> list[Result]:
    """Apply every report of one message; the caller commits. `settings` are the effective settings."""
    return process_many(session, settings, [(data, envelope_recipients)], source)[0]


def process_many(
    session: Session, settings: Settings, messages: Sequence[tuple[bytes, Sequence[str]]], source: str
) -> list[list[Result]]:
    """Apply the reports of many messages (each with its envelope recipients) as one batch; per message,
    its reports' results. The caller commits."""
    held = [feedback_of(settings, data, source, recipients) for data, recipients in messages]
    outcomes = iter(apply_many(session, settings, [report for reports in held for report in reports]))
    return [
        [Result(next(outcomes).value) for _ in reports] if reports else [Result.IGNORED] for reports in held
    ]
