"""Input of the contacts resource: create, change, search."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from sender.services.audience.contacts import MAX_LENGTHS
from sender.web.api.schemas.base import Input, JsonObject, Text
from sender.web.api.schemas.paging import PageQuery

Email = Annotated[Text, Field(max_length=320, description="Normalised (lower case) on save.")]
Phone = Annotated[Text, Field(max_length=64, description="E.164, or national in the default region.")]
COUNTRY_TEXT = "must be an ISO 3166 alpha-2 code such as FR"


class ContactPatch(Input):
    """Fields a client may change; an omitted field is left as it is."""

    messages = {"country": COUNTRY_TEXT}

    email: Email | None = None
    phone: Phone | None = None
    first_name: Annotated[Text, Field(max_length=MAX_LENGTHS["first_name"])] | None = None
    last_name: Annotated[Text, Field(max_length=MAX_LENGTHS["last_name"])] | None = None
    locale: Annotated[Text, Field(max_length=MAX_LENGTHS["locale"])] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2")] | None = None
    timezone: Annotated[Text, Field(max_length=MAX_LENGTHS["timezone"])] | None = None
    attributes: Annotated[
        JsonObject, Field(description="Free-form data for templates, at most 5 levels deep.")
    ] = Field(default_factory=dict)


class ContactInput(ContactPatch):
    """A new contact: an email or a phone number is required."""

    source: Annotated[Text, Field(max_length=MAX_LENGTHS["source"])] = "api"
    source_detail: Annotated[Text, Field(max_length=255)] | None = None
    is_legacy: bool = False


class ContactSearch(PageQuery):
    """A page of contacts, or the one with an exact address."""

    email: (
        Annotated[Text, Field(max_length=320, description="Exact match on the normalised email.")] | None
    ) = None
    phone: (
        Annotated[
            Text, Field(max_length=64, description="Exact match on the normalised (E.164) phone number.")
        ]
        | None
    ) = None
