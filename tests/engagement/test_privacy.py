"""Engagement and privacy: old events folded by `sender retention run`, erased people anonymised, the
person's own events in the Art. 15 report and the export."""

from __future__ import annotations

from datetime import datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender import work
from sender.cli.main import cli
from sender.config import Settings
from sender.db import utcnow
from sender.enums import EngagementClass, EngagementKind
from sender.models import AuditEvent, CampaignLink, Contact, Delivery, EngagementDaily, EngagementEvent
from sender.runtime import Runtime
from sender.services.engagement import figures
from sender.services.rights import access, erasure, export
from tests import factories
from tests.factories import CampaignFactory, ContactFactory

CLICK, OPEN = EngagementKind.CLICK, EngagementKind.OPEN
HUMAN, SCANNER = EngagementClass.HUMAN, EngagementClass.SCANNER


def _arrange(session: Session, old: datetime, recent: datetime) -> dict[str, int]:
    factories.bind(session)
    campaign = CampaignFactory(status="sent")
    person = ContactFactory()
    delivery = Delivery(campaign_id=campaign.id, contact_id=person.id, status="sent", sent_at=old)
    links = [
        CampaignLink(campaign_id=campaign.id, position=i, url=f"https://example.org/{i}") for i in range(2)
    ]
    session.add_all([delivery, *links])
    session.flush()
    events = [
        # Two days long ago: on the first, one visitor clicks both links and the person (tracked) one.
        (old, CLICK, HUMAN, "v1", links[0].id, None),
        (old, CLICK, HUMAN, "v1", links[1].id, None),
        (old, CLICK, HUMAN, "p", links[0].id, delivery.id),
        (old, CLICK, SCANNER, "s", links[1].id, None),
        (old, OPEN, HUMAN, "p", None, delivery.id),
        (old + timedelta(days=1), CLICK, HUMAN, "v2", links[1].id, None),
        (recent, CLICK, HUMAN, "p", links[1].id, delivery.id),
    ]
    for at, kind, cls, key, link_id, delivery_id in events:
        session.add(
            EngagementEvent(
                campaign_id=campaign.id, kind=kind, classification=cls, occurred_at=at, visitor_key=key,
                link_id=link_id, delivery_id=delivery_id,
            )
        )  # fmt: skip
    session.flush()
    return {"campaign": campaign.id, "person": person.id, "delivery": delivery.id}


def _figures(session: Session, campaign_id: int) -> tuple[object, ...]:
    report = figures.summary(session, campaign_id)
    return (report, figures.unique_clicks_over_time(session, campaign_id))


def test_retention_run_folds_old_events_into_daily_counts_once(
    committed: Runtime, base_env: dict[str, str]
) -> None:
    now = utcnow()
    old = datetime(now.year, now.month, now.day, 9) - timedelta(days=500)
    with work.unit(committed.Session, "arrange") as session:
        ids = _arrange(session, old, now)
    with committed.Session() as session:
        before = _figures(session, ids["campaign"])
    assert before[0].unique_clicks == 4  # v1 and p on day one, v2 on day two, p recently

    runner = CliRunner()
    result = runner.invoke(cli, ["retention", "run"], env={**base_env, "TRACKING_RETENTION_DAYS": "396"})
    assert result.exit_code == 0, result.output
    assert "tracking_events_folded=6" in result.output

    with committed.Session() as session:
        assert _figures(session, ids["campaign"]) == before
        assert session.scalar(select(func.count()).select_from(EngagementEvent)) == 1
        assert session.scalar(select(func.count()).select_from(EngagementDaily)) > 0
        details = session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "retention.run")
        ).one()
        assert details["tracking_events_folded"] == 6

    # A second run folds nothing more and changes no figure.
    result = runner.invoke(cli, ["retention", "run"], env={**base_env, "TRACKING_RETENTION_DAYS": "396"})
    assert "tracking_events_folded=0" in result.output
    with committed.Session() as session:
        assert _figures(session, ids["campaign"]) == before


def test_the_person_sees_their_own_events_and_erasure_anonymises_them(
    db_session: Session, settings: Settings
) -> None:
    now = utcnow()
    ids = _arrange(db_session, now - timedelta(days=2), now)
    person = db_session.get(Contact, ids["person"])
    assert person is not None
    own = access.report(db_session, settings, person)["tracking"]
    # Only the events naming their delivery: the aggregate ones name no one.
    assert [(e["kind"], e["link"]) for e in own] == [
        ("click", "https://example.org/0"),
        ("open", None),
        ("click", "https://example.org/1"),
    ]
    assert export.as_json(db_session, person)["tracking"] == own
    assert export.as_csv(db_session, person).count("\r\ntracking,") == 3
    before = figures.summary(db_session, ids["campaign"])

    erasure.erase(db_session, settings, person, actor="test", notify=False)
    named = db_session.scalar(select(func.count()).where(EngagementEvent.delivery_id.is_not(None)))
    assert named == 0
    # The figures keep counting the anonymised events.
    assert figures.summary(db_session, ids["campaign"]) == before
