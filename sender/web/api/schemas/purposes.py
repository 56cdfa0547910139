"""Input of the purposes resource: a register entry and a consent wording version."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.enums import PurposeKind
from sender.models.consent import LEGAL_BASES
from sender.services.consent import purposes
from sender.web.api.schemas.base import Input, NonBlank, OneOf, Text

DAYS_TEXT = f"must be a whole number of days between 1 and {purposes.MAX_DAYS}"
Days = Annotated[int, Field(ge=1, le=purposes.MAX_DAYS)]
Item = Annotated[NonBlank, Field(max_length=purposes.MAX_ITEM)]
ITEMS_TEXT = f"must be a list of non-empty strings of at most {purposes.MAX_ITEM} characters"


class PurposeInput(Input):
    """A new entry of the Art. 30 register."""

    messages = {
        "slug": "must be 1-64 lowercase letters, digits or hyphens, not starting or ending with '-'",
        "retention_days": DAYS_TEXT,
        "consent_validity_days": f"{DAYS_TEXT} or null",
        "data_categories": ITEMS_TEXT,
        "processors": ITEMS_TEXT,
        "transfers": ITEMS_TEXT,
    }

    slug: Annotated[str, Field(pattern=purposes.SLUG.pattern, max_length=64)]
    name: Annotated[NonBlank, Field(max_length=purposes.MAX_NAME)]
    description: Annotated[NonBlank, Field(description="Shown to people when asked to consent.")]
    legal_basis: Annotated[str, OneOf(LEGAL_BASES)] = "consent"
    kind: Annotated[
        str,
        OneOf(PurposeKind),
        Field(
            description="marketing: consent to receive messages; tracking: consent to be measured in them (click "
            "and open tracking per person), asked apart and never a condition of any other consent."
        ),
    ] = PurposeKind.MARKETING
    retention_days: Days = 1095
    consent_validity_days: Annotated[
        Days | None, Field(description="How long a grant stays valid; null: until withdrawn.")
    ] = 1095
    requires_double_opt_in: Annotated[
        bool, Field(description="A grant only counts once confirmed with mechanism double_opt_in.")
    ] = False
    data_categories: list[Item] = Field(default_factory=list)
    processors: list[Item] = Field(default_factory=list)
    transfers: Annotated[list[Item], Field(description="Transfers outside the EEA and their safeguards.")] = (
        Field(default_factory=list)
    )


class WordingInput(Input):
    """The next version of a purpose's consent wording."""

    text: Annotated[NonBlank, Field(description="The exact text shown to people.")]
    privacy_notice_version: (
        Annotated[Text, Field(min_length=1, max_length=purposes.MAX_NOTICE_VERSION)] | None
    ) = None
