"""Input of the accountability records: processors inventory entries, DPIA requirements and records, exports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from sender.enums import DpiaOutcome, DpiaReason, TransferMechanism
from sender.services.records import dpia, processors, register
from sender.web.api.schemas.base import Input, NonBlank, OneOf, Query, Text

Short = Annotated[NonBlank, Field(max_length=processors.MAX_TEXT)]


class ProcessorInput(Input):
    """The facts of one processor (Art. 28, 44-46); what is left out stays "to complete"."""

    messages = {
        "country": "must be an ISO 3166-1 alpha-2 code in capitals (FR, US)",
        "since": "must be a date (YYYY-MM-DD)",
    }

    name: Short
    role: Annotated[Short, Field(description="What it does for the organisation (delivers email).")]
    country: (
        Annotated[str, Field(pattern=f"^{processors.COUNTRY.pattern}$", description="ISO 3166-1 alpha-2.")]
        | None
    ) = None
    transfer_mechanism: (
        Annotated[
            str,
            OneOf(TransferMechanism),
            Field(
                description="eea: no transfer; adequacy decision; dpf: EU-US Data Privacy Framework; "
                "scc: standard contractual clauses; bcr: binding corporate rules; none."
            ),
        ]
        | None
    ) = None
    contract_ref: (
        Annotated[
            Text, Field(min_length=1, max_length=processors.MAX_TEXT, description="The DPA's reference.")
        ]
        | None
    ) = None
    since: Annotated[dt.date, Field(strict=False, description="Processor since (YYYY-MM-DD).")] | None = None


class DpiaRequirementInput(Input):
    """Why a purpose needs a DPIA (Art. 35); an empty list says it no longer does."""

    messages = {"reasons": f"must be a list of {', '.join(DpiaReason)}"}

    reasons: list[Annotated[str, OneOf(DpiaReason)]] = Field(max_length=len(DpiaReason))


class DpiaInput(Input):
    """The DPIA record attached to a purpose."""

    messages = {"assessed_on": "must be a date (YYYY-MM-DD)"}

    reference: Annotated[NonBlank, Field(max_length=dpia.MAX_TEXT)]
    assessed_on: Annotated[dt.date, Field(strict=False, description="When it was done (YYYY-MM-DD).")]
    outcome: Annotated[
        str,
        OneOf(DpiaOutcome),
        Field(description="prior_consultation: a high residual risk; campaigns stay blocked (Art. 36)."),
    ]
    reviewer: Annotated[NonBlank, Field(max_length=dpia.MAX_TEXT)]


class RegisterQuery(Query):
    """The export's format."""

    format: Annotated[str, OneOf(register.FORMATS)] = "json"
