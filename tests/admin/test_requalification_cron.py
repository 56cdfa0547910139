"""A requalification cycle as staff see it (issue 16.4): the DPO approves the exact message, and the dashboard
says when a started cycle waits for a cron run that never came."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Purpose
from sender.runtime import Runtime
from sender.services.campaigns import requalify, requalify_cycle
from tests.admin.test_requalification_pages import make_cycle, purpose

__all__ = ["purpose"]

ClientAs = Callable[[str], FlaskClient]
WAITING = "is waiting for a requalification run"


def test_the_approval_page_shows_the_message_as_it_will_be_sent(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")

    page = client_as("dpo").get(f"/admin/requalification/{campaign.id}").get_data(as_text=True)

    message = page[page.index('id="message"') : page.index('id="approval"')]
    assert "Votre accord ?" in message  # the subject
    assert "Bonjour Camille," in message  # the body, rendered for a sample person
    assert "https://sender.test/requalify/confirm/" in message  # the signed answer links
    assert "Exemple SAS" in message and "From: Exemple SAS &lt;news@exemple.test&gt;" in message
    assert "2099" in message  # the deadline, in the system's block


def test_the_dashboard_flags_a_started_cycle_no_cron_run_has_served(
    client_as: ClientAs, db_session: Session, runtime: Runtime, purpose: Purpose, staff: dict[str, object]
) -> None:
    campaign = make_cycle(db_session, runtime, purpose, "user:999")
    requalify.approve(db_session, runtime.settings, campaign.id, "user:998", "DPO file 42")
    requalify.start(db_session, campaign, now=utcnow() - timedelta(minutes=20))
    db_session.commit()
    client = client_as("marketer")

    flagged = client.get("/admin/").get_data(as_text=True)
    assert WAITING in flagged and campaign.name in flagged

    requalify_cycle.run(runtime)

    assert WAITING not in client.get("/admin/").get_data(as_text=True)
