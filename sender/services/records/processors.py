"""The processors and transfers inventory (GDPR Art. 28, 44-46; R76): who handles data, where, on what terms.

The channels' providers are derived, never typed twice: a channel whose `processor_host()` is set (the relay
of SMTP_URL, Twilio once configured) appears with its `Processor` facts as defaults, "to complete" until the
organisation records the rest; the local outbox hands nothing to anybody. Other processors (hosting,
support) are added by key. A channel whose provider is outside the EEA with no documented transfer
mechanism cannot launch (`undocumented_transfer`; launch_check.py words the refusal). The register (register.py) and the Art. 15 report read this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import Channel, channels
from sender.config import Settings
from sender.enums import TransferMechanism
from sender.i18n import N_
from sender.models import ProcessorEntry
from sender.services.accounts import organisation
from sender.services.errors import NotFound, ValidationFailed
from sender.services.records import audit

# The EEA: the 27 EU member states, Iceland, Liechtenstein and Norway (ISO 3166-1 alpha-2).
EEA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})  # fmt: skip
KEY = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
COUNTRY = re.compile(r"[A-Z]{2}")
MAX_TEXT = 200
# The mechanisms that make a transfer outside the EEA lawful (EEA and none do not).
SAFEGUARDS = frozenset(TransferMechanism) - {TransferMechanism.EEA, TransferMechanism.NONE}
# How the access report and the register name each mechanism (GDPR articles).
MECHANISM_TEXT: dict[str, str] = {
    TransferMechanism.EEA: "inside the EEA: no transfer",
    TransferMechanism.ADEQUACY: "adequacy decision (GDPR Art. 45)",
    TransferMechanism.DPF: "EU-US Data Privacy Framework (adequacy decision, GDPR Art. 45)",
    TransferMechanism.SCC: "Standard Contractual Clauses (GDPR Art. 46)",
    TransferMechanism.BCR: "Binding Corporate Rules (GDPR Art. 47)",
    TransferMechanism.NONE: "none documented",
}
FIELDS = ("name", "role", "country", "transfer_mechanism", "contract_ref", "since")


@dataclass(frozen=True)
class Entry:
    """One processor as the inventory shows it: stored facts, else the channel's defaults."""

    key: str
    name: str
    role: str
    country: str | None
    transfer_mechanism: str | None
    contract_ref: str | None
    since: date | None
    # The channel it delivers for, and whether the current settings send through it.
    channel: str | None = None
    in_use: bool = True
    stored: bool = False

    @property
    def outside_eea(self) -> bool:
        """True when the processor's country is known and outside the EEA."""
        return self.country is not None and self.country not in EEA

    @property
    def transfer_documented(self) -> bool:
        """False only for a processor outside the EEA without a safeguard (Art. 44-46)."""
        return not self.outside_eea or self.transfer_mechanism in SAFEGUARDS

    def missing(self) -> list[str]:
        """The fields still to complete, in the inventory's order."""
        gaps = [name for name in FIELDS if getattr(self, name) in (None, "")]
        if not self.transfer_documented and "transfer_mechanism" not in gaps:
            gaps.append("transfer_mechanism")
        return sorted(gaps, key=FIELDS.index)

    def recipient(self) -> dict[str, str]:
        """The entry as one recipient of the access report (Art. 15(1)(c))."""
        safeguards = MECHANISM_TEXT.get(self.transfer_mechanism or "", "to be documented")
        if self.contract_ref:
            safeguards += f"; processing agreement {self.contract_ref} (GDPR Art. 28)"
        return {"name": self.name, "role": self.role, "country": self.country or "", "safeguards": safeguards}

    def as_dict(self) -> dict[str, object]:
        """The entry as the API, the exports and the access report give it."""
        return {
            "key": self.key,
            "name": self.name,
            "role": self.role,
            "country": self.country,
            "transfer_mechanism": self.transfer_mechanism,
            "contract_ref": self.contract_ref,
            "since": self.since.isoformat() if self.since else None,
            "channel": self.channel,
            "in_use": self.in_use,
            "outside_eea": self.outside_eea,
            "missing": self.missing(),
        }


@dataclass(frozen=True)
class Facts:
    """What the organisation records of one processor (the API and the staff form give these)."""

    name: str
    role: str
    country: str | None = None
    transfer_mechanism: str | None = None
    contract_ref: str | None = None
    since: date | None = None


def _stored(row: ProcessorEntry, channel: str | None, in_use: bool) -> Entry:
    return Entry(
        row.key,
        row.name,
        row.role,
        row.country,
        row.transfer_mechanism,
        row.contract_ref,
        row.since,
        channel=channel,
        in_use=in_use,
        stored=True,
    )


def _derived(channel: Channel, host: str | None) -> Entry:
    facts = channel.processor
    # A provider whose facts the channel knows keeps its name; a relay is named by its host.
    name = facts.name if facts.country_code or host is None else host
    return Entry(
        channel.name,
        name,
        facts.role,
        facts.country_code,
        facts.mechanism,
        None,
        None,
        channel=channel.name,
        in_use=host is not None,
    )


def channel_entry(session: Session, settings: Settings, channel: Channel) -> Entry | None:
    """The entry of the provider a channel sends through with these settings; None for the local outbox."""
    host = channel.processor_host(settings)
    if host is None:
        return None
    row = session.scalar(select(ProcessorEntry).where(ProcessorEntry.key == channel.name))
    return _stored(row, channel.name, True) if row is not None else _derived(channel, host)


def inventory(session: Session, settings: Settings) -> list[Entry]:
    """Every processor: the channels' providers first (in use or recorded), then the others by key."""
    rows = {row.key: row for row in session.scalars(select(ProcessorEntry).order_by(ProcessorEntry.key))}
    entries: list[Entry] = []
    for channel in channels():
        host = channel.processor_host(settings)
        row = rows.pop(channel.name, None)
        if row is not None:
            entries.append(_stored(row, channel.name, host is not None))
        elif host is not None:
            entries.append(_derived(channel, host))
    return entries + [_stored(row, None, True) for row in rows.values()]


def in_use(entries: Iterable[Entry]) -> list[Entry]:
    """The entries data is handed to with the current settings."""
    return [entry for entry in entries if entry.in_use]


def get(session: Session, settings: Settings, key: str) -> Entry:
    """One entry of the inventory by key; NotFound if it is neither recorded nor derived."""
    for entry in inventory(session, settings):
        if entry.key == key:
            return entry
    raise NotFound(N_("no processor %(key)r in the inventory", key=key))


def _validate(key: str, facts: Facts, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not KEY.fullmatch(key):
        errors["key"] = N_(
            "must be 1-64 lowercase letters, digits or hyphens, not starting or ending with '-'"
        )
    for name in ("name", "role", "contract_ref"):
        value = getattr(facts, name)
        if value is not None and len(value) > MAX_TEXT:
            errors[name] = N_("must be at most %(n)d characters", n=MAX_TEXT)
    for name in ("name", "role"):
        if not getattr(facts, name).strip():
            errors[name] = N_("is required")
    if facts.country is not None and not COUNTRY.fullmatch(facts.country):
        errors["country"] = N_("must be an ISO 3166-1 alpha-2 code in capitals (FR, US)")
    mechanism = facts.transfer_mechanism
    if mechanism is not None and mechanism not in set(TransferMechanism):
        errors["transfer_mechanism"] = N_("must be one of %(choices)s", choices=", ".join(TransferMechanism))
    elif mechanism == TransferMechanism.EEA and facts.country is not None and facts.country not in EEA:
        errors["transfer_mechanism"] = N_(
            "%(country)s is outside the EEA: name the transfer's safeguard", country=facts.country
        )
    if facts.since is not None and facts.since > today:
        errors["since"] = N_("must not be in the future")
    return errors


def record(session: Session, key: str, facts: Facts, actor: str) -> ProcessorEntry:
    """Create or replace the entry `key`; ValidationFailed names each wrong field. The caller commits."""
    clean = replace(
        facts,
        name=facts.name.strip(),
        role=facts.role.strip(),
        country=(facts.country or "").strip().upper() or None,
        contract_ref=(facts.contract_ref or "").strip() or None,
        transfer_mechanism=facts.transfer_mechanism or None,
    )
    errors = _validate(key, clean, organisation.today(session))
    if errors:
        raise ValidationFailed(errors)
    row = session.scalar(select(ProcessorEntry).where(ProcessorEntry.key == key).with_for_update())
    created = row is None
    if row is None:
        row = ProcessorEntry(key=key)
        session.add(row)
    row.name, row.role, row.country = clean.name, clean.role, clean.country
    row.transfer_mechanism, row.contract_ref, row.since = (
        clean.transfer_mechanism,
        clean.contract_ref,
        clean.since,
    )
    session.flush()
    audit.record(
        session, actor, "processor.create" if created else "processor.update", "processor", row.id, {}
    )
    return row


def undocumented_transfer(session: Session, settings: Settings, channel: Channel) -> Entry | None:
    """The entry of the channel's provider when it may not receive data now: outside the EEA with no
    documented transfer mechanism (Art. 44-46); None when it may. `launch_check` words the refusal."""
    entry = channel_entry(session, settings, channel)
    return entry if entry is not None and not entry.transfer_documented else None
