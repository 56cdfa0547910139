"""What an import said about a row or one of its fields: a stable code for the API, a catalogue text for people.

A report line stores its code and values (and the English text, for the CSV and for lines written before codes
existed); pages translate the code's text with the same values, so a French screen reads French.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sender.addresses import AddressError
from sender.i18n import N_, Reason
from sender.services.audience import countries

MESSAGES: dict[str, str] = {
    # A cell of the row that could not be read (the rest of the row is kept).
    "too_long": N_("longer than %(max)s characters"),
    "not_a_country": countries.PROBLEM,
    "not_a_language": N_("not a language tag such as fr or fr-FR"),
    "not_a_time_zone": N_("not an IANA time zone such as Europe/Paris"),
    "not_a_date": N_("not a date such as 2026-03-14 or 14/03/2026"),
    "date_in_future": N_("is in the future"),
    "not_a_wording_version": N_("not a wording version number such as 1"),
    "unknown_wording_version": N_("purpose %(purpose)r has no wording version %(version)s"),
    "not_an_ip": N_("not an IPv4 or IPv6 address"),
    "invalid_email": N_("not a valid email address (%(detail)s)"),
    "not_a_phone": N_("not a phone number: %(detail)s"),
    "invalid_phone": N_("not a valid phone number for its country"),
    "phone_of_another_row": N_("belongs to another contact (row %(row)s); left out"),
    "phone_of_existing_contact": N_("belongs to another contact (an existing contact); left out"),
    "phone_kept": N_("the contact already has another phone number; it is kept"),
    # The whole row.
    "too_many_cells": N_("%(cells)s cells, but the header has %(columns)s columns"),
    "no_address": N_("no email or phone number"),
    "suppressed": N_(
        "on the suppression list (%(reason)s): an erased, opted-out or bounced address is never imported again"
    ),
    "contact_not_active": N_("the matching contact is %(status)s: left unchanged"),
    "contact_changed": N_("the matching contact changed during the import: left unchanged"),
    "no_row_proof": N_(
        "no consent proof of its own (consent date and source): imported as legacy, no consent recorded"
    ),
    "consent_refused": N_("%(channel)s: %(refusal)s"),
    "same_as_row": N_("same person as row %(row)s"),
    "same_as_row_existing": N_("same person as row %(row)s (an existing contact)"),
    "existing_contact": N_("an existing contact: empty fields filled in"),
}
# A field problem on a row that was kept: the field was left empty, the rest of the row imported.
LEFT_EMPTY = N_("%(reason)s; field left empty")
# Values that are codes of a set (labels.py translates them on pages): value name -> set name.
CODED_VALUES = {"reason": "SuppressionReason", "status": "ContactStatus", "channel": "Channel"}
# Values that are catalogue texts of their own (a service's refusal), translated before they are placed.
NESTED_VALUES = frozenset({"refusal"})


@dataclass(frozen=True)
class Problem:
    """One problem: its stable code and the values its text names."""

    code: str
    values: dict[str, object] = field(default_factory=dict)

    def reason(self, *, left_empty: bool = False) -> str:
        """The text in English, keeping its catalogue form (a Reason) for pages."""
        values = {k: Reason(str(v), {}) if k in NESTED_VALUES else v for k, v in self.values.items()}
        text = Reason(MESSAGES[self.code], values)
        return Reason(LEFT_EMPTY, {"reason": text}) if left_empty else text


def problem(code: str, **values: object) -> Problem:
    """A problem of a known code (KeyError for an unknown one: every code has its text)."""
    if code not in MESSAGES:  # fail where the code is made, not where it is shown
        raise KeyError(code)
    return Problem(code, values)


def address_problem(column: str, exc: AddressError) -> Problem:
    """Why a cell or a line is not an address of the column's kind (email, else phone)."""
    if column == "email":
        return problem("invalid_email", detail=exc.detail)
    return problem("not_a_phone", detail=exc.detail) if exc.detail else problem("invalid_phone")


class Line(Protocol):
    """What a report line holds for its text."""

    code: str
    params: dict[str, object] | None
    reason: str


def reason_of(line: Line) -> str:
    """The line's text: its code's catalogue text with its values, or the stored text of a line without a code."""
    if not line.code or line.code not in MESSAGES:
        return line.reason
    params = dict(line.params or {})
    left_empty = bool(params.pop("left_empty", False))
    return Problem(line.code, params).reason(left_empty=left_empty)
