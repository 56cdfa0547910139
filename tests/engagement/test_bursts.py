"""Bursts over every link of one message: judged in Redis, and by the database when Redis cannot answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.db import utcnow
from sender.enums import EngagementClass
from sender.models import CampaignLink, EngagementEvent
from sender.runtime import Runtime
from sender.services.engagement import events, visitors
from sender.services.engagement.classify import Visit
from tests import factories
from tests.factories import CampaignFactory

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def _links(session: Session) -> list[str]:
    factories.bind(session)
    campaign = CampaignFactory(status="sent", tracking_mode="aggregate")
    links = [
        CampaignLink(campaign_id=campaign.id, position=i, url=f"https://example.org/{i}") for i in range(2)
    ]
    session.add_all(links)
    session.flush()
    return [link.id for link in links]


@pytest.mark.parametrize("redis_answers", [True, False], ids=["redis", "redis-down"])
def test_one_visitor_on_every_link_within_seconds_is_a_scanner(
    db_session: Session, settings: Settings, runtime: Runtime, redis_conn: Redis, redis_answers: bool
) -> None:
    # Port 1 answers nothing: every call fails at once, as during an outage (no retry: nothing waits).
    redis = (
        redis_conn
        if redis_answers
        else Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    )
    first, second = _links(db_session)
    at = utcnow()
    # The day's salt was drawn before any outage: each process keeps it for the day.
    visitors.salt(redis_conn, at.date())
    for link_id, later in ((first, 0), (second, 2)):
        token = runtime.tokens.dumps("click", {"l": link_id})
        visit = Visit("GET", "192.0.2.7", BROWSER, at + timedelta(seconds=later))
        events.click(db_session, settings, runtime.tokens, redis, token, visit)
        db_session.flush()
    classes = db_session.scalars(select(EngagementEvent.classification).order_by(EngagementEvent.id)).all()
    assert classes == [EngagementClass.SCANNER, EngagementClass.SCANNER]

    # Another visitor, a link now and the other one six seconds later: a reader, twice.
    for link_id, later in ((first, 10), (second, 16)):
        token = runtime.tokens.dumps("click", {"l": link_id})
        visit = Visit("GET", "192.0.2.8", BROWSER, at + timedelta(seconds=later))
        events.click(db_session, settings, runtime.tokens, redis, token, visit)
        db_session.flush()
    classes = db_session.scalars(select(EngagementEvent.classification).order_by(EngagementEvent.id)).all()
    assert classes[2:] == [EngagementClass.HUMAN, EngagementClass.HUMAN]
