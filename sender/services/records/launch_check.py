"""What the accountability records say of a launch: its channel's processor and its purpose's DPIA.

Called by the launch beside the sender identity check, and by the pages that confirm a launch to say why.
The inventory (processors.py) gives the fact, an undocumented transfer; this module words it. The DPIA's
refusal is its own note (dpia.blocking), the one the register, its page and the API show.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sender.channels.base import Channel
from sender.config import Settings
from sender.i18n import N_
from sender.models import Campaign
from sender.services.errors import ValidationFailed
from sender.services.records import dpia, processors


def problems(session: Session, settings: Settings, campaign: Campaign, channel: Channel) -> dict[str, str]:
    """Each reason the records forbid launching the campaign now (field: reason); empty when none."""
    transfer = processors.undocumented_transfer(session, settings, channel)
    held = dpia.check_purpose(session, campaign.purpose_id)
    errors: dict[str, str] = {}
    if transfer is not None:
        errors["transfer_mechanism"] = N_(
            "the %(channel)s processor %(name)s (%(country)s) is outside the EEA and the processors inventory "
            "documents no transfer mechanism (adequacy, dpf, scc or bcr)",
            channel=channel.name,
            name=transfer.name,
            country=transfer.country,
        )
    return {**errors, **held}


def check_launch(session: Session, settings: Settings, campaign: Campaign, channel: Channel) -> None:
    """Refuse the launch (ValidationFailed, 422) while an undocumented transfer or a missing DPIA stands."""
    errors = problems(session, settings, campaign, channel)
    if errors:
        raise ValidationFailed(errors)
