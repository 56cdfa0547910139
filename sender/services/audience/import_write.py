"""Applying a decided chunk of an import: new contacts, filled blanks of merged ones, and consent grants.

Each step is one statement for the whole chunk. Inserts go without RETURNING, so that psycopg runs one
prepared statement for all rows (pipeline mode) instead of building a giant multi-row text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from sender.db import utcnow
from sender.enums import Channel, ContactStatus
from sender.models import Contact, Purpose
from sender.models.contacts import new_public_id
from sender.services.audience import lists
from sender.services.audience.import_problems import Problem, problem
from sender.services.consent import ledger
from sender.services.consent.ledger import ImportedProof

PLAIN_FIELDS = ("first_name", "last_name", "locale", "country", "timezone")


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
class Chunk:
    """What one chunk will write, gathered while its rows are decided."""

    batch_id: int
    by_email: dict[str, Row[Any]]
    by_phone: dict[str, Row[Any]]
    lines: list[dict[str, Any]] = field(default_factory=list)
    new: dict[int, dict[str, Any]] = field(default_factory=dict)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    # label, row, channel, outcome, and the proof the grant records (the row's own, or the batch's)
    grants: list[tuple[int, int, str, str, ImportedProof]] = field(default_factory=list)
    label_ids: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {row.id: row for row in (*self.by_email.values(), *self.by_phone.values())}

    def line(
        self, row_no: int, outcome: str, column: str, said: Problem | None = None, *, left_empty: bool = False
    ) -> None:
        """Add a report line: its problem's code and values, and its text in English (for the CSV)."""
        params: dict[str, Any] = dict(said.values) if said is not None else {}
        if left_empty:
            params["left_empty"] = True
        self.lines.append(
            {
                "batch_id": self.batch_id,
                "row_no": row_no,
                "outcome": outcome,
                "column": column[:100],
                "code": said.code if said is not None else "",
                "params": params or None,
                "reason": said.reason(left_empty=left_empty)[:300] if said is not None else "",
            }
        )


class ChunkWriter:
    """Writes decided chunks (or, in a dry run, predicts their grants) and counts the consents recorded."""

    def __init__(
        self, session: Session, batch_id: int, proof: Proof | None, actor: str, list_id: int | None = None
    ) -> None:
        self.session = session
        self.list_id = list_id
        self.batch_id = batch_id
        self.proof = proof
        self.actor = actor
        self.consents_recorded = 0
        self.granted: set[int] = set()  # _grant_key(label, channel) of grants already counted

    def write(self, chunk: Chunk) -> None:
        """Insert the chunk's new contacts, fill blanks of merged ones, record its grants."""
        now = utcnow()
        if chunk.new:
            params = [_new_contact(values, now, self.batch_id) for values in chunk.new.values()]
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
        if self.list_id is not None and chunk.label_ids:
            lists.add_ids(self.session, self.list_id, sorted(set(chunk.label_ids.values())))

    def _created_ids(self, chunk: Chunk) -> dict[tuple[str, str | None], int]:
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

    def _grant(self, chunk: Chunk) -> None:
        proof = self.proof
        assert proof is not None
        for channel in proof.channels:
            wanted = self._wanted(chunk, channel, created=True)
            proofs: dict[int, ImportedProof] = {}
            for _, contact_id, _, _, row_proof in wanted:
                proofs.setdefault(contact_id, row_proof)  # a person named twice: the first row's proof
            refusals = ledger.record_imported_grants(
                self.session, proof.purpose, channel, proofs, mechanism=proof.mechanism, actor=self.actor
            )
            self._account_grants(chunk, channel, wanted, refusals)

    def predict(self, chunk: Chunk) -> None:
        """What a commit would do with the chunk's grants, writing nothing."""
        proof = self.proof
        assert proof is not None
        for channel in proof.channels:
            wanted = self._wanted(chunk, channel, created=False)
            existing = [contact_id for _, contact_id, _, _, _ in wanted if contact_id]
            refusals = ledger.import_refusals(self.session, proof.purpose, channel, existing, proof.mechanism)
            self._account_grants(chunk, channel, wanted, refusals)

    def _wanted(
        self, chunk: Chunk, channel: str, *, created: bool
    ) -> list[tuple[int, int, int, str, ImportedProof]]:
        """The chunk's grants on a channel not counted yet, with contact ids (0 for a contact a dry run skips)."""
        return [
            (
                label,
                chunk.label_ids[label] if created else (-label if label < 0 else 0),
                row_no,
                outcome,
                row_proof,
            )
            for label, row_no, ch, outcome, row_proof in chunk.grants
            if ch == channel and _grant_key(label, ch) not in self.granted
        ]

    def _account_grants(
        self,
        chunk: Chunk,
        channel: str,
        wanted: list[tuple[int, int, int, str, ImportedProof]],
        refusals: dict[int, str],
    ) -> None:
        for label, _, ch, _, _ in chunk.grants:
            if ch == channel:
                self.granted.add(_grant_key(label, ch))
        recorded = set()
        for label, contact_id, row_no, outcome, _ in wanted:
            if contact_id and contact_id in refusals:
                refused = problem("consent_refused", channel=channel, refusal=refusals[contact_id])
                chunk.line(row_no, outcome, "consent", refused)
            else:
                recorded.add(label)
        self.consents_recorded += len(recorded)


def _grant_key(label: int, channel: str) -> int:
    # One key per (label, channel): the label times the number of channels, plus the channel's rank.
    names = tuple(Channel)
    return label * len(names) + names.index(Channel(channel))


def _new_contact(values: dict[str, Any], now: datetime, batch_id: int) -> dict[str, Any]:
    params = {
        name: values.get(name) for name in ("email", "email_hash", "phone", "phone_hash", *PLAIN_FIELDS)
    }
    params.update(
        public_id=new_public_id(),
        attributes=values["attributes"],
        source="import",
        source_detail=f"import batch {batch_id}",
        status=ContactStatus.ACTIVE,
        is_legacy=values["is_legacy"],
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
