"""Contacts: normalised addresses, keyed hashes, refusal of suppressed addresses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.addresses import AddressError, address_hash
from sender.channels.base import address_columns, channels
from sender.config import Settings
from sender.enums import ContactStatus
from sender.i18n import N_
from sender.models import Contact, Suppression
from sender.services.audience import countries
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

EDITABLE = ("email", "phone", "first_name", "last_name", "locale", "country", "timezone", "attributes")
MAX_LENGTHS = {"first_name": 100, "last_name": 100, "locale": 16, "timezone": 64, "source": 64}


def address_fields() -> tuple[str, ...]:
    """The contact fields holding an address of some channel ("email", "phone"), each once."""
    return tuple(dict.fromkeys(channel.address.column for channel in channels()))


@dataclass(frozen=True)
class Addresses:
    """Normalised addresses and their keyed hashes, by contact column; every channel's columns, None when absent."""

    values: dict[str, str | None]


def normalise_addresses(settings: Settings, given: Mapping[str, Any]) -> Addresses:
    """Normalise the addresses among `given` (by contact field) with their channel's rule, one error per bad field."""
    errors: dict[str, str] = {}
    values: dict[str, str | None] = dict.fromkeys(address_columns())
    for channel in channels():
        column, raw = channel.address.column, given.get(channel.address.column)
        # Channels sharing an address (the phone) share its normal form: it is computed once.
        if not raw or values[column] is not None or column in errors:
            continue
        try:
            normalised = channel.normalise(raw, settings)
        except AddressError as exc:
            errors[exc.field] = exc.message
            continue
        values[column] = normalised
        values[channel.address.hash_column] = address_hash(settings.hash_key, normalised)
    if errors:
        raise ValidationFailed(errors)
    return Addresses(values)


def suppressed_channels(session: Session, addresses: Addresses) -> list[str]:
    """Channels on which these addresses are on the suppression list."""
    found: list[str] = []
    for channel in channels():
        digest = addresses.values[channel.address.hash_column]
        if digest and session.scalar(
            select(Suppression.id).where(
                Suppression.address_hash == digest, Suppression.channel == channel.name
            )
        ):
            found.append(channel.name)
    return found


def _check_fields(data: Mapping[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, limit in MAX_LENGTHS.items():
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors[name] = N_("must be a string of at most %(n)d characters", n=limit)
    country = data.get("country")
    if country and (not isinstance(country, str) or countries.country_code(country) is None):
        errors["country"] = countries.PROBLEM
    attributes = data.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        errors["attributes"] = N_("must be an object")
    for name in address_fields():
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = N_("must be a string")
    return errors


def create(session: Session, settings: Settings, data: Mapping[str, Any], actor: str) -> Contact:
    """Create a contact; refuse suppressed or duplicate addresses (409) and bad fields (422)."""
    errors = _check_fields(data)
    if not any(data.get(name) for name in address_fields()):
        errors["email"] = N_("an email or a phone number is required")
    if errors:
        raise ValidationFailed(errors)
    addresses = normalise_addresses(settings, data)
    blocked = suppressed_channels(session, addresses)
    if blocked:
        # An erased or opted-out person must not come back through a new record (R11).
        raise Conflict(N_("address is on the suppression list (%(choices)s)", choices=", ".join(blocked)))
    _refuse_duplicates(session, addresses, None)
    contact = Contact(
        **addresses.values,
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        locale=data.get("locale"),
        country=countries.country_code(data["country"]) if data.get("country") else None,
        timezone=data.get("timezone"),
        attributes=dict(data.get("attributes") or {}),
        source=data.get("source") or "api",
        source_detail=data.get("source_detail"),
        is_legacy=bool(data.get("is_legacy", False)),
    )
    session.add(contact)
    session.flush()
    audit.record(session, actor, "contact.create", "contact", contact.public_id)
    return contact


def _refuse_duplicates(session: Session, addresses: Addresses, contact_id: int | None) -> None:
    for name in address_fields():
        value = addresses.values[name]
        if value is None:
            continue
        other = session.scalar(select(Contact.id).where(getattr(Contact, name) == value))
        if other is not None and other != contact_id:
            raise Conflict(N_("another contact already has this %(name)s", name=name))


def update(
    session: Session, settings: Settings, contact: Contact, data: Mapping[str, Any], actor: str
) -> Contact:
    """Change editable fields; new addresses are normalised and checked like on create."""
    if contact.status == ContactStatus.ERASED:
        raise Conflict(N_("the contact is erased"))
    unknown = sorted(set(data) - set(EDITABLE))
    errors = {name: "cannot be changed" for name in unknown}
    errors.update(_check_fields(data))
    if errors:
        raise ValidationFailed(errors)
    fields = address_fields()
    if any(name in data for name in fields):
        addresses = normalise_addresses(
            settings, {name: data.get(name, getattr(contact, name)) for name in fields}
        )
        blocked = suppressed_channels(session, addresses)
        if blocked:
            raise Conflict(N_("address is on the suppression list (%(choices)s)", choices=", ".join(blocked)))
        _refuse_duplicates(session, addresses, contact.id)
        for column, value in addresses.values.items():
            setattr(contact, column, value)
    for name in ("first_name", "last_name", "locale", "timezone", "attributes"):
        if name in data:
            setattr(contact, name, data[name])
    if "country" in data:
        contact.country = countries.country_code(data["country"]) if data["country"] else None
    session.flush()
    audit.record(session, actor, "contact.update", "contact", contact.public_id, {"fields": sorted(data)})
    return contact


def get_by_public_id(session: Session, public_id: str) -> Contact:
    """The contact with this public id, or NotFound."""
    contact = session.scalar(select(Contact).where(Contact.public_id == public_id))
    if contact is None:
        raise NotFound(N_("no such contact"))
    return contact


def suppress_addresses(session: Session, contact: Contact, reason: str) -> None:
    """Put the keyed hash of each of the contact's addresses on the suppression list of its channels."""
    for channel in channels():
        digest = channel.address.hash_of(contact)
        if digest:
            suppress(session, digest, channel.name, reason)


def suppress(session: Session, digest: str, channel: str, reason: str) -> None:
    """Put a keyed address hash on the suppression list for a channel (idempotent)."""
    exists = session.scalar(
        select(Suppression.id).where(Suppression.address_hash == digest, Suppression.channel == channel)
    )
    if exists is None:
        session.add(Suppression(address_hash=digest, channel=channel, reason=reason))
        session.flush()
