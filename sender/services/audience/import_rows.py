"""One CSV row read into contact fields: a bad field is dropped with its reason, the rest of the row kept."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sender.addresses import AddressError, address_hash, normalize_email, normalize_phone
from sender.db import utcnow
from sender.services.audience.countries import country_code
from sender.services.audience.import_mapping import ATTRIBUTE_PREFIX, PROOF_FIELDS
from sender.services.audience.import_problems import Problem, address_problem, problem
from sender.services.consent.ledger import EVIDENCE_KEYS, truncate_ip

MAX_LENGTHS = {"first_name": 100, "last_name": 100}
MAX_ATTRIBUTE_VALUE = 255
MAX_CONSENT_SOURCE = 255
# How spreadsheets write a consent moment: ISO (with or without a time), or day first as in France.
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)
_LOCALE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclass
class ParsedRow:
    """A row's usable values; `problems` lists (column header, field, reason) of the fields that were dropped."""

    row_no: int
    email: str | None = None
    email_hash: str | None = None
    phone: str | None = None
    phone_hash: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    # The row's own consent proof (consent_* columns), and whether one of its cells was unusable.
    proof: dict[str, Any] = field(default_factory=dict)
    proof_flawed: bool = False
    problems: list[tuple[str, str, Problem]] = field(default_factory=list)

    def has_own_proof(self) -> bool:
        """A date and a source of its own, and no unusable proof cell: then the row proves its consent."""
        return not self.proof_flawed and "consent_date" in self.proof and "consent_source" in self.proof


@dataclass(frozen=True)
class RowReader:
    """Reads rows for one file: its header, the column targets, the phone region and the hash key."""

    header: list[str]
    targets: list[str | None]
    region: str
    hash_key: str

    def parse(self, row_no: int, cells: list[str]) -> ParsedRow:
        """Normalise each mapped cell; invalid ones become problems, never exceptions."""
        parsed = ParsedRow(row_no)
        for name, target, raw in zip(self.header, self.targets, cells, strict=False):
            value = raw.strip()
            if target is None or not value:
                continue
            problem = self._apply(parsed, target, value)
            if problem:
                parsed.problems.append((name, target, problem))
                parsed.proof_flawed = parsed.proof_flawed or target in PROOF_FIELDS
        return parsed

    def _apply(self, parsed: ParsedRow, target: str, value: str) -> Problem | None:
        try:
            if target == "email":
                parsed.email = normalize_email(value)
                parsed.email_hash = address_hash(self.hash_key, parsed.email)
            elif target == "phone":
                parsed.phone = normalize_phone(value, self.region)
                parsed.phone_hash = address_hash(self.hash_key, parsed.phone)
            elif target in PROOF_FIELDS:
                return _apply_proof(parsed, target, value)
            else:
                return _apply_plain(parsed, target, value)
        except AddressError as exc:
            return address_problem(target, exc)
        return None


def _apply_plain(parsed: ParsedRow, target: str, value: str) -> Problem | None:
    if target.startswith(ATTRIBUTE_PREFIX):
        if len(value) > MAX_ATTRIBUTE_VALUE:
            return problem("too_long", max=MAX_ATTRIBUTE_VALUE)
        parsed.attributes[target[len(ATTRIBUTE_PREFIX) :]] = value
        return None
    if target in MAX_LENGTHS and len(value) > MAX_LENGTHS[target]:
        return problem("too_long", max=MAX_LENGTHS[target])
    if target == "country":
        code = country_code(value)
        if code is None:
            return problem("not_a_country")
        value = code
    elif target == "locale" and not _LOCALE.match(value):
        return problem("not_a_language")
    elif target == "timezone" and value not in _zones():
        return problem("not_a_time_zone")
    parsed.fields[target] = value
    return None


def _consent_moment(value: str) -> datetime | None:
    text = value.replace("T", " ").removesuffix("Z")
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def _apply_proof(parsed: ParsedRow, target: str, value: str) -> Problem | None:
    """One cell of the row's own consent proof, checked as strictly as a batch's."""
    if target == "consent_date":
        moment = _consent_moment(value)
        if moment is None:
            return problem("not_a_date")
        if moment > utcnow():
            return problem("date_in_future")
        parsed.proof[target] = moment
    elif target == "consent_source":
        if len(value) > MAX_CONSENT_SOURCE:
            return problem("too_long", max=MAX_CONSENT_SOURCE)
        parsed.proof[target] = value
    elif target == "consent_wording_version":
        if not value.isdigit() or not 1 <= int(value) <= 2**31 - 1:
            return problem("not_a_wording_version")
        parsed.proof[target] = int(value)
    elif target == "consent_ip":
        try:
            parsed.proof[target] = truncate_ip(value)  # the network part only, as for any consent
        except ValueError:
            return problem("not_an_ip")
    else:
        if len(value) > EVIDENCE_KEYS["form_id"]:
            return problem("too_long", max=EVIDENCE_KEYS["form_id"])
        parsed.proof[target] = value
    return None
