"""Input of the requalification resource: a cycle's campaign, the DPO's approval, a person's interaction."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

from sender.channels.base import get_channel
from sender.enums import Channel
from sender.services.audience import interactions
from sender.services.campaigns.schema import NAME_LIMIT, SLUG_LIMIT
from sender.web.api.schemas.base import Id, Input, NonBlank, OneOf, Text
from sender.web.api.schemas.campaigns import in_utc

# A request for consent goes by email: its templates have the email channel's limits.
LIMITS = get_channel(Channel.EMAIL).content.limits


class RequalificationInput(Input):
    """A request for consent to the legacy contacts of one purpose, with its deadline; no promotion allowed."""

    name: Annotated[NonBlank, Field(max_length=NAME_LIMIT)]
    purpose: Annotated[
        Text, Field(min_length=1, max_length=SLUG_LIMIT, description="Slug of the purpose asked for.")
    ]
    subject: Annotated[NonBlank, Field(max_length=LIMITS["subject"], description="Jinja2 (sandboxed).")]
    body_text: Annotated[
        NonBlank,
        Field(
            max_length=LIMITS["text"],
            description="Jinja2 (sandboxed); `contact`, `confirm_url`, `decline_url`, `deadline` and "
            "`wording_version` are exposed; the system adds the links again after it.",
        ),
    ]
    body_html: Annotated[
        Text, Field(max_length=LIMITS["html"], description="Jinja2 (sandboxed, autoescaped).")
    ] = ""
    deadline: (
        Annotated[
            AwareDatetime,
            Field(
                strict=False,
                description="When silence becomes final, with a time zone; any future moment. "
                "Default: REQUALIFICATION_DEADLINE_DAYS from now.",
            ),
            AfterValidator(in_utc),
        ]
        | None
    ) = None


class ApprovalInput(Input):
    """The DPO's sign-off on sending to legacy contacts (R50)."""

    note: Annotated[
        NonBlank, Field(max_length=2_000, description="Why the request is lawful and proportionate.")
    ]


class InteractionInput(Input):
    """Something the person did (an order, a reply...), reported by another system."""

    kind: Annotated[
        str,
        OneOf(interactions.KINDS),
        Field(
            description="click, reply, form, portal_visit, order and login move the retention clock; "
            "open, delivery and send never do."
        ),
    ]
    occurred_at: (
        Annotated[AwareDatetime, Field(strict=False, description="Default: now."), AfterValidator(in_utc)]
        | None
    ) = None
    delivery_id: Annotated[Id, Field(description="For a click: the message it came from.")] | None = None
