"""One pass over an import file, a chunk of rows at a time: decide each row's fate, and in a commit write it.

Every chunk costs a fixed number of statements (lookups by address, suppression check, one multi-row insert,
one executemany update, the report lines, the consent grants), whatever the number of rows in it. Rows are
matched by normalised email first, then by E.164 phone. Only the address keys of the file are remembered
between chunks (to merge duplicates within the file), never the rows themselves.

Entities are labelled by an int: a new contact by the row number where it first appears, an existing
contact by minus its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, insert, select
from sqlalchemy.orm import Session

from sender.channels.base import channels, get_channel
from sender.enums import ContactStatus
from sender.models import ConsentWording, Contact, ImportReportLine, Suppression
from sender.services.audience.import_mapping import PROOF_FIELDS
from sender.services.audience.import_problems import Problem, problem
from sender.services.audience.import_rows import ParsedRow
from sender.services.audience.import_write import PLAIN_FIELDS, Chunk, ChunkWriter, Proof
from sender.services.consent.ledger import ImportedProof

__all__ = ["Counts", "ImportPass", "Proof"]


@dataclass
class Counts:
    """Running totals of a pass."""

    total_rows: int = 0
    accepted: int = 0
    merged: int = 0
    refused: int = 0
    fields_dropped: int = 0
    consents_recorded: int = 0
    rows_own_proof: int = 0
    rows_batch_proof: int = 0
    rows_legacy: int = 0


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
        list_id: int | None = None,
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
        self.writer = ChunkWriter(session, batch_id, proof, actor, list_id)
        # A file with proof columns proves consent row by row: a row without its own proof is legacy.
        self.row_proof = any(name in columns for name in PROOF_FIELDS)
        self.versions: frozenset[int] = frozenset()
        if proof is not None:
            self.versions = frozenset(
                session.scalars(
                    select(ConsentWording.version).where(ConsentWording.purpose_id == proof.purpose.id)
                )
            )

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
        hashes = {h for r in rows for ch in channels() if (h := ch.address.hash_of(r))}
        if not hashes:
            return {}
        found = self.session.execute(
            select(Suppression.address_hash, Suppression.channel, Suppression.reason).where(
                Suppression.address_hash.in_(hashes)
            )
        )
        return {(h, channel): reason for h, channel, reason in found}

    # --- deciding --------------------------------------------------------------------------------

    def process(self, rows: list[ParsedRow], refused: list[tuple[int, Problem]]) -> None:
        """Decide a chunk of parsed rows (plus rows already refused as malformed) and write it if asked."""
        chunk = Chunk(
            self.batch_id,
            self._contacts(Contact.email, {r.email for r in rows if r.email}),
            self._contacts(Contact.phone, {r.phone for r in rows if r.phone}),
        )
        for row_no, reason in refused:
            self.counts.refused += 1
            chunk.line(row_no, "refused", "", reason)
        suppressed = self._suppressed(rows)
        for row in rows:
            self._decide(chunk, row, suppressed)
        if self.write:
            self.writer.write(chunk)
        elif self.proof is not None:
            self.writer.predict(chunk)
        self.counts.consents_recorded = self.writer.consents_recorded
        if chunk.lines:
            # Row order, so that line ids follow rows (the report pages by id).
            lines = sorted(chunk.lines, key=lambda line: line["row_no"])
            self.session.execute(insert(cast(Table, ImportReportLine.__table__)), lines)

    def _owner(self, kind: str, value: str | None, existing: dict[str, Row[Any]]) -> int | None:
        if value is None:
            return None
        label = self.seen.get(hash((kind, value)))
        if label is None and value in existing:
            label = -existing[value].id
        return label

    def _snapshot(self, chunk: Chunk, label: int) -> Row[Any] | None:
        return chunk.by_id.get(-label)

    def _has(self, chunk: Chunk, label: int, kind: str) -> bool:
        if label in (self.emailed if kind == "email" else self.phoned):
            return True
        snap = self._snapshot(chunk, label) if label < 0 else None
        return snap is not None and getattr(snap, kind) is not None

    def _decide(self, chunk: Chunk, row: ParsedRow, suppressed: dict[tuple[str, str], str]) -> None:
        address_problems = [p for p in row.problems if p[1] in ("email", "phone")]
        if row.email is None and row.phone is None:
            self.counts.refused += 1
            for column, _, said in address_problems or [("", "", problem("no_address"))]:
                chunk.line(row.row_no, "refused", column, said)
            return
        for ch in channels():
            digest, kind = ch.address.hash_of(row), ch.address.column
            if digest and (digest, ch.name) in suppressed:
                self.counts.refused += 1
                said = problem("suppressed", reason=suppressed[(digest, ch.name)])
                chunk.line(row.row_no, "refused", self.columns.get(kind, kind), said)
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
            if snap is None or snap.status != ContactStatus.ACTIVE:
                self.counts.refused += 1
                said = (
                    problem("contact_not_active", status=snap.status)
                    if snap is not None
                    else problem("contact_changed")
                )
                chunk.line(row.row_no, "refused", "", said)
                return
        self._check_version(row)
        problems = list(row.problems)  # the row keeps a valid address: each bad field is dropped alone
        if row.phone is not None:
            if by_phone is not None and by_phone != target:
                taken = (
                    problem("phone_of_another_row", row=by_phone)
                    if by_phone > 0
                    else problem("phone_of_existing_contact")
                )
                problems.append((self.columns["phone"], "phone", taken))
                row.phone = row.phone_hash = None
            elif by_phone is None and target is not None and self._has(chunk, target, "phone"):
                problems.append((self.columns["phone"], "phone", problem("phone_kept")))
                row.phone = row.phone_hash = None
        outcome = "accepted" if target is None else "merged"
        label = row.row_no if target is None else target
        self._register(row, label)
        if target is None:
            self.counts.accepted += 1
            chunk.line(row.row_no, "accepted", "")
        else:
            self.counts.merged += 1
            chunk.line(row.row_no, "merged", *self._merge_note(row, target, by_email))
        for column, _, said in problems:
            self.counts.fields_dropped += 1
            chunk.line(row.row_no, outcome, column, said, left_empty=True)
        row_proof = self._row_proof(chunk, row, outcome)
        self._stage(chunk, row, label, legacy=row_proof is None)
        if self.proof is not None and row_proof is not None:
            for channel in self.proof.channels:
                if getattr(row, get_channel(channel).address.column, None) is not None:
                    chunk.grants.append((label, row.row_no, channel, outcome, row_proof))

    def _check_version(self, row: ParsedRow) -> None:
        version = row.proof.get("consent_wording_version")
        if version is None or self.proof is None or version in self.versions:
            return
        column = self.columns.get("consent_wording_version", "consent_wording_version")
        said = problem("unknown_wording_version", purpose=self.proof.purpose.slug, version=version)
        row.problems.append((column, "consent_wording_version", said))
        row.proof_flawed = True
        del row.proof["consent_wording_version"]

    def _row_proof(self, chunk: Chunk, row: ParsedRow, outcome: str) -> ImportedProof | None:
        """The proof a row's grants record: its own, else the batch's; None makes the row legacy."""
        batch = self.proof
        if batch is None:
            self.counts.rows_legacy += 1
            return None
        evidence: dict[str, Any] = {"import_batch": str(self.batch_id)}
        if not self.row_proof:
            self.counts.rows_batch_proof += 1
            return ImportedProof(batch.collected_at, batch.collection_point, batch.wording_version, evidence)
        if not row.has_own_proof():
            self.counts.rows_legacy += 1
            chunk.line(row.row_no, outcome, "consent", problem("no_row_proof"))
            return None
        self.counts.rows_own_proof += 1
        own = row.proof
        evidence |= {"ip": own.get("consent_ip"), "form_id": own.get("consent_form_id")}
        return ImportedProof(
            own["consent_date"],
            own["consent_source"],
            own.get("consent_wording_version", batch.wording_version),
            {key: value for key, value in evidence.items() if value is not None},
        )

    def _merge_note(self, row: ParsedRow, target: int, by_email: int | None) -> tuple[str, Problem]:
        kind = "email" if by_email == target else "phone"
        column = self.columns.get(kind, kind)
        if target > 0:
            return column, problem("same_as_row", row=target)
        first = self.first_row.setdefault(target, row.row_no)
        if first != row.row_no:
            return column, problem("same_as_row_existing", row=first)
        return column, problem("existing_contact")

    def _register(self, row: ParsedRow, label: int) -> None:
        if row.email is not None:
            self.seen.setdefault(hash(("e", row.email)), label)
            self.emailed.add(label)
        if row.phone is not None:
            self.seen.setdefault(hash(("p", row.phone)), label)
            self.phoned.add(label)

    # --- staging ---------------------------------------------------------------------------------

    def _stage(self, chunk: Chunk, row: ParsedRow, label: int, *, legacy: bool) -> None:
        values: dict[str, Any] = dict(row.fields)
        if row.email is not None:
            values["email"], values["email_hash"] = row.email, row.email_hash
        if row.phone is not None:
            values["phone"], values["phone_hash"] = row.phone, row.phone_hash
        if label == row.row_no:
            chunk.new[label] = {**values, "attributes": dict(row.attributes), "is_legacy": legacy}
            return
        if label in chunk.new:  # a duplicate of a contact this chunk creates: fill its blanks
            pending = chunk.new[label]
            pending["is_legacy"] = pending["is_legacy"] and legacy  # one row's proof is enough
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

    def _created_earlier(self, chunk: Chunk, row: ParsedRow) -> int | None:
        found = (row.email and chunk.by_email.get(row.email)) or (row.phone and chunk.by_phone.get(row.phone))
        return found.id if found else None
