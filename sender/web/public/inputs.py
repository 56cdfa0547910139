"""Typed input of the public pages: what a sign-up may hold, checked before any query sees it.

The sign-up form and its JSON twin give the same fields; both are read by one model, so a purpose sent as
an object, a version beyond any row or text with NUL is a 422 (JSON) or the form again (HTML) naming the
field, like the API's. Which wordings exist and rest on consent is the service's to say.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sender.services.consent.signup import MAX_PURPOSES
from sender.services.input import Id, Input, Text


class SignupChoice(Input):
    """One ticked box: the purpose's slug and the wording version shown beside it."""

    purpose: Text
    wording_version: Id


class SignupInput(Input):
    """A sign-up; a missing address or an empty choice is left to the service, which says what is needed."""

    email: Text | None = None
    consents: Annotated[list[SignupChoice], Field(max_length=MAX_PURPOSES)] | None = None
    locale: Text | None = None
    # The honeypot: a filled one is answered before this model is read.
    website: Any = None

    def choices(self) -> list[dict[str, Any]] | None:
        """The choices as the service reads them."""
        return None if self.consents is None else [choice.model_dump() for choice in self.consents]
