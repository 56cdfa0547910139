"""What the accountability records say of a launch: its channel's processor and its purpose's DPIA.

Called by the launch beside the sender identity check, and by the pages that confirm a launch to say why.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sender.channels.base import Channel
from sender.config import Settings
from sender.models import Campaign
from sender.services.errors import ValidationFailed
from sender.services.records import dpia, processors


def problems(session: Session, settings: Settings, campaign: Campaign, channel: Channel) -> dict[str, str]:
    """Each reason the records forbid launching the campaign now (field: reason); empty when none."""
    return {
        **processors.check_channel(session, settings, channel),
        **dpia.check_purpose(session, campaign.purpose_id),
    }


def check_launch(session: Session, settings: Settings, campaign: Campaign, channel: Channel) -> None:
    """Refuse the launch (ValidationFailed, 422) while an undocumented transfer or a missing DPIA stands."""
    errors = problems(session, settings, campaign, channel)
    if errors:
        raise ValidationFailed(errors)
