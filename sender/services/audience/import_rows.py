"""One CSV row read into contact fields: a bad field is dropped with its reason, the rest of the row kept."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from functools import lru_cache

from sender.addresses import AddressError, address_hash, normalize_email, normalize_phone
from sender.services.audience.import_mapping import ATTRIBUTE_PREFIX

MAX_LENGTHS = {"first_name": 100, "last_name": 100}
MAX_ATTRIBUTE_VALUE = 255
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
    problems: list[tuple[str, str, str]] = field(default_factory=list)


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
        return parsed

    def _apply(self, parsed: ParsedRow, target: str, value: str) -> str | None:
        try:
            if target == "email":
                parsed.email = normalize_email(value)
                parsed.email_hash = address_hash(self.hash_key, parsed.email)
            elif target == "phone":
                parsed.phone = normalize_phone(value, self.region)
                parsed.phone_hash = address_hash(self.hash_key, parsed.phone)
            else:
                return _apply_plain(parsed, target, value)
        except AddressError as exc:
            return exc.message
        return None


def _apply_plain(parsed: ParsedRow, target: str, value: str) -> str | None:
    if target.startswith(ATTRIBUTE_PREFIX):
        if len(value) > MAX_ATTRIBUTE_VALUE:
            return f"longer than {MAX_ATTRIBUTE_VALUE} characters"
        parsed.attributes[target[len(ATTRIBUTE_PREFIX) :]] = value
        return None
    if target in MAX_LENGTHS and len(value) > MAX_LENGTHS[target]:
        return f"longer than {MAX_LENGTHS[target]} characters"
    if target == "country":
        if len(value) != 2 or not value.isalpha() or not value.isascii():
            return "not an ISO 3166 alpha-2 country code such as FR"
        value = value.upper()
    elif target == "locale" and not _LOCALE.match(value):
        return "not a language tag such as fr or fr-FR"
    elif target == "timezone" and value not in _zones():
        return "not an IANA time zone such as Europe/Paris"
    parsed.fields[target] = value
    return None
