"""Contact lists and bulk membership changes, written set-based (one statement per step, not per id)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import DateTime, Integer, Select, Table, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.addresses import AddressError, normalize_email, normalize_phone
from sender.config import Settings
from sender.db import utcnow
from sender.enums import ContactStatus
from sender.i18n import N_, Reason
from sender.models import Contact, ContactList, ListMember, ListTally
from sender.services.audience.import_problems import address_problem
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.input import refuse_unstorable
from sender.services.records import audit
from sender.services.sequences import enrol as sequences

MAX_IDS_PER_CALL = 10_000
MAX_NAME = 200
UNKNOWN_SHOWN = 10


@dataclass(frozen=True)
class ListSummary:
    """A list with its number of members."""

    list: ContactList
    member_count: int


@dataclass(frozen=True)
class MembershipChange:
    """What a bulk add or remove did."""

    requested: int
    changed: int


def create(session: Session, data: Mapping[str, Any], actor: str) -> ContactList:
    """Create a named list; a taken name is a Conflict."""
    errors: dict[str, str] = {name: "unknown field" for name in sorted(set(data) - {"name", "description"})}
    raw_name = data.get("name")
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    if not name or len(name) > MAX_NAME:
        errors["name"] = N_("is required: a non-empty string of at most %(n)d characters", n=MAX_NAME)
    description = data.get("description", "")
    if not isinstance(description, str):
        errors["description"] = N_("must be a string")
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(ContactList.id).where(ContactList.name == name)) is not None:
        raise Conflict(N_("a list named %(name)r already exists", name=name))
    contact_list = ContactList(name=name, description=description)
    try:
        with session.begin_nested():
            session.add(contact_list)
    except IntegrityError:
        raise Conflict(N_("a list named %(name)r already exists", name=name)) from None
    audit.record(session, actor, "list.create", "list", contact_list.id)
    return contact_list


def sizes(session: Session, list_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Lists' member counts from the summary counts (list_tallies, kept by triggers), not from the members."""
    stmt = select(ListTally.list_id, func.sum(ListTally.delta)).group_by(ListTally.list_id)
    if list_ids is not None:
        stmt = stmt.where(ListTally.list_id.in_(list_ids))
    return {list_id: int(n) for list_id, n in session.execute(stmt)}


def summaries(session: Session) -> list[ListSummary]:
    """Every list with its member count."""
    counted = sizes(session)
    return [ListSummary(row, counted.get(row.id, 0)) for row in all_lists(session)]


def all_lists(session: Session) -> list[ContactList]:
    """Every list, without counting members (a choice of lists in a form)."""
    return list(session.scalars(select(ContactList).order_by(ContactList.id)))


def get(session: Session, list_id: int) -> ContactList:
    """The list with this id, or NotFound."""
    contact_list = session.get(ContactList, list_id)
    if contact_list is None:
        raise NotFound(N_("no list %(list_id)s", list_id=list_id))
    return contact_list


def summary(session: Session, list_id: int) -> ListSummary:
    """One list with its member count."""
    contact_list = get(session, list_id)
    return ListSummary(contact_list, sizes(session, [list_id]).get(list_id, 0))


def _resolve(session: Session, public_ids: Any) -> list[int]:
    """Contact ids for public ids, in one SELECT; any unknown id fails the whole call."""
    if (
        not isinstance(public_ids, list)
        or not public_ids
        or not all(isinstance(p, str) and p for p in public_ids)
    ):
        raise ValidationFailed({"contact_ids": N_("must be a non-empty list of contact ids (strings)")})
    # A value no column can hold (a NUL byte) is refused before it reaches the database.
    refuse_unstorable({"contact_ids": public_ids})
    if len(public_ids) > MAX_IDS_PER_CALL:
        raise ValidationFailed(
            {
                "contact_ids": N_(
                    "at most %(max_ids_per_call)s ids per call, got %(count)s",
                    max_ids_per_call=MAX_IDS_PER_CALL,
                    count=len(public_ids),
                )
            }
        )
    wanted = list(dict.fromkeys(public_ids))  # de-duplicated, order kept for the error message
    rows = session.execute(select(Contact.public_id, Contact.id).where(Contact.public_id.in_(wanted)))
    found: dict[str, int] = {public_id: contact_id for public_id, contact_id in rows}
    unknown = [p for p in wanted if p not in found]
    if unknown:
        shown = ", ".join(unknown[:UNKNOWN_SHOWN])
        more = f" and {len(unknown) - UNKNOWN_SHOWN} more" if len(unknown) > UNKNOWN_SHOWN else ""
        raise ValidationFailed(
            {
                "contact_ids": N_(
                    "%(count)s unknown contact ids: %(shown)s%(more)s",
                    count=len(unknown),
                    shown=shown,
                    more=more,
                )
            }
        )
    return list(found.values())


def _members_table() -> Table:
    return cast(Table, ListMember.__table__)


# psycopg closes an INSERT's cursor before its rowcount is read unless asked to keep it.
COUNTED = {"preserve_rowcount": True}


def add_ids(session: Session, list_id: int, contact_ids: Select[Any] | list[int]) -> int:
    """Add contacts (ids, or a SELECT of ids) to a list in one INSERT ... SELECT; returns how many joined.

    Erased contacts never join, and existing members are left as they are; the caller audits.
    """
    rows = select(literal(list_id, Integer), Contact.id, literal(utcnow(), DateTime)).where(
        # The WHERE also settles SQLite's INSERT ... SELECT ... ON CONFLICT parsing.
        Contact.id.in_(contact_ids),
        Contact.status != ContactStatus.ERASED,
    )
    columns = ["list_id", "contact_id", "added_at"]
    # ON CONFLICT DO NOTHING (both backends) skips existing members, even ones added concurrently.
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = upsert(_members_table()).from_select(columns, rows).on_conflict_do_nothing()
    session.flush()
    # The sequences this list triggers enrol its new members only: they are read before they join.
    triggered = sequences.triggered_by_list(session, list_id)
    newcomers = []
    if triggered:
        already = select(ListMember.contact_id).where(ListMember.list_id == list_id)
        newcomers = list(
            session.scalars(rows.with_only_columns(Contact.id).where(Contact.id.not_in(already)))
        )
    joined = int(session.connection().execute(stmt, execution_options=COUNTED).rowcount)
    for sequence in triggered:
        sequences.enrol(session, sequence, newcomers)
    return joined


def add_members(session: Session, list_id: int, public_ids: Any, actor: str) -> MembershipChange:
    """Add contacts named by public id to a list; existing members are left as they are."""
    contact_list = get(session, list_id)
    ids = _resolve(session, public_ids)
    added = add_ids(session, contact_list.id, ids)
    audit.record(
        session, actor, "list.members_add", "list", contact_list.id, {"requested": len(ids), "added": added}
    )
    return MembershipChange(len(ids), added)


@dataclass(frozen=True)
class AddressesAdded:
    """What adding contacts by address did, and why each line that joined nobody did not (line number, reason)."""

    requested: int
    changed: int
    problems: list[tuple[int, str]]


def add_by_addresses(
    session: Session, settings: Settings, list_id: int, text: str, actor: str
) -> AddressesAdded:
    """Add the contacts named one per line by email address or phone number; each other line says why not."""
    contact_list = get(session, list_id)
    entries = [
        (number, line.strip()) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if len(entries) > MAX_IDS_PER_CALL:
        raise ValidationFailed(
            {
                "emails": N_(
                    "at most %(n)s lines at a time, got %(count)s", n=MAX_IDS_PER_CALL, count=len(entries)
                )
            }
        )
    problems: list[tuple[int, str]] = []
    wanted: dict[str, list[tuple[int, str]]] = {"email": [], "phone": []}
    for number, entry in entries:
        column = "email" if "@" in entry else "phone"
        try:
            value = (
                normalize_email(entry)
                if column == "email"
                else normalize_phone(entry, settings.default_phone_region)
            )
        except AddressError as exc:
            problems.append((number, _line_problem(number, entry, address_problem(column, exc).reason())))
            continue
        wanted[column].append((number, value))
    ids: list[int] = []
    for column, named in wanted.items():
        found = _by_address(session, column, {value for _, value in named})
        for number, value in named:
            contact = found.get(value)
            if contact is None:
                problems.append((number, _line_problem(number, value, N_("no contact has this address"))))
            elif contact[1] == ContactStatus.ERASED:
                problems.append((number, _line_problem(number, value, N_("this contact is erased"))))
            else:
                ids.append(contact[0])
    added = add_ids(session, contact_list.id, ids) if ids else 0
    audit.record(
        session, actor, "list.members_add", "list", contact_list.id, {"requested": len(ids), "added": added}
    )
    return AddressesAdded(len(ids), added, sorted(problems))


def _by_address(session: Session, column: str, values: set[str]) -> dict[str, tuple[int, str]]:
    """Contacts by normalised address in one SELECT: address -> (id, status)."""
    if not values:
        return {}
    address = getattr(Contact, column)
    rows = session.execute(select(address, Contact.id, Contact.status).where(address.in_(values)))
    return {value: (contact_id, status) for value, contact_id, status in rows}


def _line_problem(number: int, entry: str, reason: str) -> str:
    # The reason keeps its catalogue form inside the line's, so that a page says both in its language.
    said = reason if isinstance(reason, Reason) else Reason(reason, {})
    return N_("line %(line)s (%(entry)s): %(reason)s", line=number, entry=entry, reason=said)


def add_selection(
    session: Session, list_id: int, selection: Select[Any], origin: str, actor: str
) -> MembershipChange:
    """Add every contact a SELECT of ids finds (a search, a segment, an import) to a list, in one statement."""
    contact_list = get(session, list_id)
    found = session.scalar(select(func.count()).select_from(selection.subquery())) or 0
    added = add_ids(session, contact_list.id, selection)
    audit.record(
        session,
        actor,
        "list.members_add",
        "list",
        contact_list.id,
        {"from": origin, "requested": found, "added": added},
    )
    return MembershipChange(found, added)


def remove_members(session: Session, list_id: int, public_ids: Any, actor: str) -> MembershipChange:
    """Remove contacts from a list in one DELETE; ids that were not members are ignored."""
    contact_list = get(session, list_id)
    ids = _resolve(session, public_ids)
    table = _members_table()
    stmt = delete(table).where(table.c.list_id == contact_list.id, table.c.contact_id.in_(ids))
    session.flush()
    removed = session.connection().execute(stmt, execution_options=COUNTED).rowcount
    # Membership objects already loaded in this session no longer exist.
    session.expire_all()
    audit.record(
        session,
        actor,
        "list.members_remove",
        "list",
        contact_list.id,
        {"requested": len(ids), "removed": removed},
    )
    return MembershipChange(len(ids), removed)
