"""The campaign state machine: its table of transitions, and a refused move as a 409 that writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import CampaignStatus
from sender.models import Campaign
from sender.services.campaigns import states
from sender.services.errors import Conflict
from tests.factories import CampaignFactory

D, SC, SE, ST, P, C = (
    CampaignStatus.DRAFT,
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.SENT,
    CampaignStatus.PAUSED,
    CampaignStatus.CANCELLED,
)


def test_the_table_of_allowed_moves() -> None:
    allowed = states.ALLOWED
    assert allowed == {
        (D, SC),
        (SC, D),
        (D, SE),
        (SC, SE),
        (SE, ST),
        (SE, P),
        (P, SE),
        (D, C),
        (SC, C),
        (SE, C),
        (P, C),
        (ST, SE),
        (P, ST),
        (ST, ST),
    }
    # Nothing leaves a cancelled campaign, and nothing goes back to draft or scheduled from a launch
    # (only an edited schedule returns to draft).
    assert not {pair for pair in allowed if pair[0] == C}
    assert not {pair for pair in allowed if pair[1] in (D, SC) and pair[0] not in (D, SC)}


@pytest.mark.parametrize("transition", states.TRANSITIONS, ids=lambda t: t.name)
@pytest.mark.parametrize("status", list(CampaignStatus))
def test_each_move_is_made_from_its_sources_only(
    db_session: Session, transition: states.Transition, status: CampaignStatus
) -> None:
    campaign = CampaignFactory(status=status)
    db_session.flush()

    if status in transition.sources:
        states.move(db_session, campaign, transition)
        assert campaign.status == transition.target
    else:
        with pytest.raises(Conflict, match=f"^campaign is {status}; "):
            states.move(db_session, campaign, transition)
        assert campaign.status == status


def test_of_two_racing_moves_one_wins(db_session: Session) -> None:
    campaign = CampaignFactory(status=CampaignStatus.DRAFT)
    db_session.flush()

    assert states.advance(db_session, campaign.id, states.LAUNCH)
    assert not states.advance(db_session, campaign.id, states.LAUNCH)
    with pytest.raises(Conflict, match="only draft or scheduled campaigns can be sent"):
        states.move(db_session, campaign, states.LAUNCH)


def test_a_move_writes_its_columns_in_the_same_statement_and_only_when_allowed(db_session: Session) -> None:
    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    db_session.flush()
    when = utcnow().replace(microsecond=0)

    assert not states.advance(db_session, campaign.id, states.RESUME, finished_at=when)
    db_session.refresh(campaign)
    assert campaign.finished_at is None
    assert states.advance(db_session, campaign.id, states.PAUSE, finished_at=when)
    db_session.refresh(campaign)
    assert (campaign.status, campaign.finished_at) == (CampaignStatus.PAUSED, when)


def test_a_condition_may_hold_a_move_back(db_session: Session) -> None:
    campaign = CampaignFactory(status=CampaignStatus.SENDING)
    db_session.flush()

    assert not states.advance(
        db_session, campaign.id, states.FINISH, provided=Campaign.planned_at.is_not(None)
    )
    db_session.refresh(campaign)
    assert campaign.status == CampaignStatus.SENDING
