"""The input model of a sequence, whoever writes it: the API or the staff pages."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from sender.enums import BodyFormat, DelayUnit, SequenceTrigger
from sender.enums import Channel as ChannelName
from sender.i18n import N_
from sender.services.campaigns.schema import NAME_LIMIT, SLUG_LIMIT, CampaignDraft
from sender.services.input import Id, Input, NonBlank, OneOf, Text
from sender.services.sequences.timing import parse_time

MAX_STEPS = 20
MAX_DELAY = 3650
FIELD_LIMIT = 64


def _time_of_day(value: str) -> str | None:
    if not value:
        return None
    try:
        parse_time(value)
    except ValueError:
        raise ValueError(N_("must be a time of day, HH:MM")) from None
    return value


class StepInput(Input):
    """One step: its wait after the previous step (or the entry) and its message."""

    channel: Annotated[str, OneOf(ChannelName)] = ChannelName.EMAIL
    delay_value: Annotated[int, Field(ge=0, le=MAX_DELAY)] = 0
    delay_unit: Annotated[str, OneOf(DelayUnit)] = DelayUnit.DAYS
    at_time: (
        Annotated[
            str,
            Field(
                max_length=5,
                description="HH:MM in the organisation's time zone: after its delay, the step waits for the next "
                "such time.",
            ),
            AfterValidator(_time_of_day),
        ]
        | None
    ) = None
    subject: Text = ""
    body_format: Annotated[str, OneOf(BodyFormat)] = BodyFormat.HTML
    body_source: Text = ""
    body_html: Text = ""
    body_text: Text = ""
    body_text_derived: bool = False

    def draft(self, name: str, purpose: str) -> CampaignDraft:
        """The step's message as a checked campaign draft (the channel's rules, the sandbox)."""
        content = self.model_dump(exclude={"delay_value", "delay_unit", "at_time"})
        return CampaignDraft.parse({"name": name, "purpose": purpose, **content})


class SequenceInput(Input):
    """A sequence: name, purpose, trigger and its ordered steps."""

    name: Annotated[NonBlank, Field(max_length=NAME_LIMIT)]
    purpose: Annotated[Text, Field(min_length=1, max_length=SLUG_LIMIT, description="Slug of the purpose.")]
    trigger: Annotated[str, OneOf(SequenceTrigger)]
    trigger_list_id: Id | None = None
    trigger_segment_id: Id | None = None
    trigger_field: Annotated[
        str | None,
        Field(
            max_length=FIELD_LIMIT,
            description="Contact attribute holding a date (YYYY-MM-DD), for the date "
            "trigger: the person enters on that date.",
        ),
    ] = None
    steps: Annotated[list[StepInput], Field(min_length=1, max_length=MAX_STEPS)]

    def trigger_problems(self) -> dict[str, str]:
        """What the trigger lacks: the list, the segment or the field it watches."""
        needed = {
            SequenceTrigger.LIST: ("trigger_list_id", self.trigger_list_id),
            SequenceTrigger.SEGMENT: ("trigger_segment_id", self.trigger_segment_id),
            SequenceTrigger.DATE: ("trigger_field", (self.trigger_field or "").strip()),
        }
        if self.trigger in needed:
            name, value = needed[SequenceTrigger(self.trigger)]
            if not value:
                return {name: N_("is required for this trigger")}
        return {}
