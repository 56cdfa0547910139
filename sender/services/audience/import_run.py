"""One pass over an import file, a chunk of rows at a time: decide each row's fate, and in a commit write it.

Every chunk costs a fixed number of statements (lookups by address, suppression check, one multi-row insert,
one executemany update, the report lines, the consent grants), whatever the number of rows in it. Rows are
matched by normalised email first, then by E.164 phone. Only the address keys of the file are remembered
between chunks (to merge duplicates within the file), never the rows themselves.

Entities are labelled by an int: a new contact by the row number where it first appears, an existing
contact by minus its id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.models import Contact, ImportReportLine, Purpose, Suppression
from sender.models.contacts import new_public_id
from sender.services.audience.import_rows import ParsedRow
from sender.services.consent import ledger

PLAIN_FIELDS = ("first_name", "last_name", "locale", "country", "timezone")
SUPPRESSED = (
    "on the suppression list ({reason}): an erased, opted-out or bounced address is never imported again"
)


@dataclass(frozen=True)
class Proof:
    """The consent a batch proves for its rows, or None on the batch: its rows become legacy contacts."""

    purpose: Purpose
    wording_version: int
    mechanism: str
    channels: tuple[str, ...]
    collected_at: datetime
    collection_point: str


@dataclass
class Counts:
    """Running totals of a pass."""

    total_rows: int = 0
    accepted: int = 0
    merged: int = 0
    refused: int = 0
    fields_dropped: int = 0
    consents_recorded: int = 0


@dataclass
class _Chunk:
    """What one chunk will write, gathered while its rows are decided."""

    by_email: dict[str, Row[Any]]
    by_phone: dict[str, Row[Any]]
    lines: list[dict[str, Any]] = field(default_factory=list)
    new: dict[int, dict[str, Any]] = field(default_factory=dict)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    grants: list[tuple[int, int, str, str]] = field(default_factory=list)  # label, row, channel, outcome
    label_ids: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {row.id: row for row in (*self.by_email.values(), *self.by_phone.values())}


class ImportPass:
    """Decides (and, when `write`, applies) every row of one file, chunk by chunk."""

    def __init__(
        self,
        session: Session,
        batch_id: int,
        columns: dict[str, str],
        *,
        write: bool,
        proof: Proof | None,
        actor: str,
    ) -> None:
        self.session = session
        self.batch_id = batch_id
        self.columns = columns  # field -> header text, for the report
        self.write = write
        self.proof = proof
        self.actor = actor
        self.counts = Counts()
        # Address key -> entity label. Keys are 64-bit hashes, not the addresses: this is what grows with
        # the file, so it stays small (a false merge needs a 64-bit collision between two addresses).
        self.seen: dict[int, int] = {}
        self.emailed: set[int] = set()
        self.phoned: set[int] = set()
        self.first_row: dict[int, int] = {}  # existing contact label -> first row naming it
        self.granted: set[int] = set()  # _grant_key(label, channel) of grants already counted

    # --- lookups ---------------------------------------------------------------------------------

    def _contacts(self, column: Any, values: set[str]) -> dict[str, Row[Any]]:
        if not values:
            return {}
        cols = (Contact.id, Contact.email, Contact.phone, Contact.status, Contact.attributes)
        rows = self.session.execute(
            select(*cols, *(getattr(Contact, f) for f in PLAIN_FIELDS)).where(column.in_(values))
        )
        return {getattr(row, column.key): row for row in rows}

    def _suppressed(self, rows: list[ParsedRow]) -> dict[tuple[str, str], str]:
        hashes = {h for r in rows for h in (r.email_hash, r.phone_hash) if h}
        if not hashes:
            return {}
        found = self.session.execute(
            select(Suppression.address_hash, Suppression.channel, Suppression.reason).where(
                Suppression.address_hash.in_(hashes)
            )
        )
        return {(h, channel): reason for h, channel, reason in found}

    # --- deciding --------------------------------------------------------------------------------

    def process(self, rows: list[ParsedRow], refused: list[tuple[int, str]]) -> None:
        """Decide a chunk of parsed rows (plus rows already refused as malformed) and write it if asked."""
        chunk = _Chunk(
            self._contacts(Contact.email, {r.email for r in rows if r.email}),
            self._contacts(Contact.phone, {r.phone for r in rows if r.phone}),
        )
        for row_no, reason in refused:
            self.counts.refused += 1
            self._line(chunk, row_no, "refused", "", reason)
        suppressed = self._suppressed(rows)
        for row in rows:
            self._decide(chunk, row, suppressed)
        if self.write:
            self._write(chunk)
        elif self.proof is not None:
            self._predict_grants(chunk)
        if chunk.lines:
            self.session.execute(
                insert(ImportReportLine), sorted(chunk.lines, key=lambda line: line["row_no"])
            )

    def _line(self, chunk: _Chunk, row_no: int, outcome: str, column: str, reason: str) -> None:
        chunk.lines.append(
            {
                "batch_id": self.batch_id,
                "row_no": row_no,
                "outcome": outcome,
                "column": column[:100],
                "reason": reason[:300],
            }
        )

    def _owner(self, kind: str, value: str | None, existing: dict[str, Row[Any]]) -> int | None:
        if value is None:
            return None
        label = self.seen.get(hash((kind, value)))
        if label is None and value in existing:
            label = -existing[value].id
        return label

    def _snapshot(self, chunk: _Chunk, label: int) -> Row[Any] | None:
        return chunk.by_id.get(-label)

    def _has(self, chunk: _Chunk, label: int, kind: str) -> bool:
        if label in (self.emailed if kind == "email" else self.phoned):
            return True
        snap = self._snapshot(chunk, label) if label < 0 else None
        return snap is not None and getattr(snap, kind) is not None

    def _decide(self, chunk: _Chunk, row: ParsedRow, suppressed: dict[tuple[str, str], str]) -> None:
        address_problems = [p for p in row.problems if p[1] in ("email", "phone")]
        if row.email is None and row.phone is None:
            self.counts.refused += 1
            for column, _, reason in address_problems or [("", "", "no email or phone number")]:
                self._line(chunk, row.row_no, "refused", column, reason)
            return
        for kind, digest, channel in (("email", row.email_hash, "email"), ("phone", row.phone_hash, "sms")):
            if digest and (digest, channel) in suppressed:
                self.counts.refused += 1
                reason = SUPPRESSED.format(reason=suppressed[(digest, channel)])
                self._line(chunk, row.row_no, "refused", self.columns.get(kind, kind), reason)
                return
        by_email = self._owner("e", row.email, chunk.by_email)
        by_phone = self._owner("p", row.phone, chunk.by_phone)
        target = by_email
        if (
            target is None
            and by_phone is not None
            and (row.email is None or not self._has(chunk, by_phone, "email"))
        ):
            target = by_phone
        if target is not None and target < 0:
            snap = self._snapshot(chunk, target)
            if snap is None or snap.status != "active":
                status = snap.status if snap is not None else "changed during the import"
                self.counts.refused += 1
                self._line(
                    chunk, row.row_no, "refused", "", f"the matching contact is {status}: left unchanged"
                )
                return
        problems = list(row.problems)  # the row keeps a valid address: each bad field is dropped alone
        if row.phone is not None:
            if by_phone is not None and by_phone != target:
                where = f"row {by_phone}" if by_phone > 0 else "an existing contact"
                problems.append(
                    (self.columns["phone"], "phone", f"belongs to another contact ({where}); left out")
                )
                row.phone = row.phone_hash = None
            elif by_phone is None and target is not None and self._has(chunk, target, "phone"):
                problems.append(
                    (
                        self.columns["phone"],
                        "phone",
                        "the contact already has another phone number; it is kept",
                    )
                )
                row.phone = row.phone_hash = None
        outcome = "accepted" if target is None else "merged"
        label = row.row_no if target is None else target
        self._register(row, label)
        if target is None:
            self.counts.accepted += 1
            self._line(chunk, row.row_no, "accepted", "", "")
        else:
            self.counts.merged += 1
            self._line(chunk, row.row_no, "merged", *self._merge_note(row, target, by_email))
        for column, _, reason in problems:
            self.counts.fields_dropped += 1
            self._line(chunk, row.row_no, outcome, column, f"{reason}; field left empty")
        self._stage(chunk, row, label)
        if self.proof is not None:
            for channel in self.proof.channels:
                if (row.email if channel == "email" else row.phone) is not None:
                    chunk.grants.append((label, row.row_no, channel, outcome))

    def _merge_note(self, row: ParsedRow, target: int, by_email: int | None) -> tuple[str, str]:
        kind = "email" if by_email == target else "phone"
        column = self.columns.get(kind, kind)
        if target > 0:
            return column, f"same person as row {target}"
        first = self.first_row.setdefault(target, row.row_no)
        if first != row.row_no:
            return column, f"same person as row {first} (an existing contact)"
        return column, "an existing contact: empty fields filled in"

    def _register(self, row: ParsedRow, label: int) -> None:
        if row.email is not None:
            self.seen.setdefault(hash(("e", row.email)), label)
            self.emailed.add(label)
        if row.phone is not None:
            self.seen.setdefault(hash(("p", row.phone)), label)
            self.phoned.add(label)

    # --- writing ---------------------------------------------------------------------------------

    def _stage(self, chunk: _Chunk, row: ParsedRow, label: int) -> None:
        values: dict[str, Any] = dict(row.fields)
        if row.email is not None:
            values["email"], values["email_hash"] = row.email, row.email_hash
        if row.phone is not None:
            values["phone"], values["phone_hash"] = row.phone, row.phone_hash
        if label == row.row_no:
            chunk.new[label] = {**values, "attributes": dict(row.attributes)}
            return
        if label in chunk.new:  # a duplicate of a contact this chunk creates: fill its blanks
            pending = chunk.new[label]
            for key, value in values.items():
                pending.setdefault(key, value)
            for key, value in row.attributes.items():
                pending["attributes"].setdefault(key, value)
            return
        contact_id = -label if label < 0 else self._created_earlier(chunk, row)
        if contact_id is None:  # a dry run: the earlier chunk's contact exists only in the report
            return
        chunk.label_ids[label] = contact_id
        snap = chunk.by_id.get(contact_id)
        update_ = chunk.updates.setdefault(
            contact_id, {"attributes": dict(snap.attributes or {}) if snap is not None else {}}
        )
        for key, value in values.items():
            if snap is None or getattr(snap, key.removesuffix("_hash")) is None:
                update_.setdefault(key, value)
        for key, value in row.attributes.items():
            update_["attributes"].setdefault(key, value)

    def _created_earlier(self, chunk: _Chunk, row: ParsedRow) -> int | None:
        found = (row.email and chunk.by_email.get(row.email)) or (row.phone and chunk.by_phone.get(row.phone))
        return found.id if found else None

    def _write(self, chunk: _Chunk) -> None:
        now = utcnow()
        if chunk.new:
            legacy = self.proof is None
            params = [_new_contact(values, now, legacy, self.batch_id) for values in chunk.new.values()]
            # No RETURNING: psycopg then runs one prepared statement for all rows (pipeline mode).
            self.session.execute(insert(_table), params)
            id_of = self._created_ids(chunk)
            for label, values in chunk.new.items():
                key = ("e", values["email"]) if values.get("email") else ("p", values.get("phone"))
                chunk.label_ids[label] = id_of[key]
        changes = [
            _update_params(contact_id, values, now)
            for contact_id, values in chunk.updates.items()
            if _changes(values, chunk.by_id.get(contact_id))
        ]
        if changes:
            self.session.execute(_UPDATE, changes)
        if self.proof is not None:
            self._grant(chunk)

    def _created_ids(self, chunk: _Chunk) -> dict[tuple[str, str | None], int]:
        emails = [v["email"] for v in chunk.new.values() if v.get("email")]
        phones = [v["phone"] for v in chunk.new.values() if not v.get("email")]
        id_of: dict[tuple[str, str | None], int] = {}
        if emails:
            for contact_id, email in self.session.execute(
                select(Contact.id, Contact.email).where(Contact.email.in_(emails))
            ):
                id_of[("e", email)] = contact_id
        if phones:
            for contact_id, phone in self.session.execute(
                select(Contact.id, Contact.phone).where(Contact.phone.in_(phones))
            ):
                id_of[("p", phone)] = contact_id
        return id_of

    def _grant(self, chunk: _Chunk) -> None:
        proof = self.proof
        assert proof is not None
        for channel in proof.channels:
            wanted = [
                (chunk.label_ids[label], row_no, outcome)
                for label, row_no, ch, outcome in chunk.grants
                if ch == channel and _grant_key(label, ch) not in self.granted
            ]
            refusals = ledger.record_imported_grants(
                self.session,
                proof.purpose,
                channel,
                [contact_id for contact_id, _, _ in wanted],
                mechanism=proof.mechanism,
                wording_version=proof.wording_version,
                occurred_at=proof.collected_at,
                collection_point=proof.collection_point,
                actor=self.actor,
                evidence={"import_batch": str(self.batch_id)},
            )
            self._account_grants(chunk, channel, wanted, refusals)

    def _predict_grants(self, chunk: _Chunk) -> None:
        proof = self.proof
        assert proof is not None
        for channel in proof.channels:
            wanted = [
                (-label if label < 0 else 0, row_no, outcome)
                for label, row_no, ch, outcome in chunk.grants
                if ch == channel and _grant_key(label, ch) not in self.granted
            ]
            existing = [contact_id for contact_id, _, _ in wanted if contact_id]
            refusals = ledger.import_refusals(self.session, proof.purpose, channel, existing, proof.mechanism)
            self._account_grants(chunk, channel, wanted, refusals)

    def _account_grants(
        self, chunk: _Chunk, channel: str, wanted: list[tuple[int, int, str]], refusals: dict[int, str]
    ) -> None:
        for label, _, ch, _ in chunk.grants:
            if ch == channel:
                self.granted.add(_grant_key(label, ch))
        recorded = set()
        for contact_id, row_no, outcome in wanted:
            if contact_id and contact_id in refusals:
                self._line(chunk, row_no, outcome, "consent", f"{channel}: {refusals[contact_id]}")
            else:
                recorded.add(contact_id or -row_no)
        self.counts.consents_recorded += len(recorded)


def _grant_key(label: int, channel: str) -> int:
    return label * 2 + (channel == "sms")


def _new_contact(values: dict[str, Any], now: datetime, legacy: bool, batch_id: int) -> dict[str, Any]:
    params = {
        name: values.get(name) for name in ("email", "email_hash", "phone", "phone_hash", *PLAIN_FIELDS)
    }
    params.update(
        public_id=new_public_id(),
        attributes=values["attributes"],
        source="import",
        source_detail=f"import batch {batch_id}",
        status="active",
        is_legacy=legacy,
        created_at=now,
        updated_at=now,
    )
    return params


_FILLED = ("email", "email_hash", "phone", "phone_hash", *PLAIN_FIELDS)
_table = cast(Table, Contact.__table__)
# Fill blanks only, in SQL too: a value written meanwhile by someone else is never overwritten.
_UPDATE = (
    update(_table)
    .where(_table.c.id == bindparam("b_id"))
    .values(
        {name: func.coalesce(_table.c[name], bindparam(f"b_{name}")) for name in _FILLED}
        | {
            "attributes": bindparam("b_attributes", type_=_table.c.attributes.type),
            "updated_at": bindparam("b_updated_at"),
        }
    )
)


def _update_params(contact_id: int, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    params = {f"b_{name}": values.get(name) for name in _FILLED}
    params.update(b_id=contact_id, b_attributes=values["attributes"], b_updated_at=now)
    return params


def _changes(values: dict[str, Any], snap: Row[Any] | None) -> bool:
    if any(key != "attributes" for key in values):
        return True
    return snap is None or values["attributes"] != (snap.attributes or {})
