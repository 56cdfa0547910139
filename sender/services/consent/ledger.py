"""Recording consent: the append-only ledger and the materialised current state, in one transaction."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from sender import metrics, work
from sender.db import utcnow
from sender.enums import Channel, ConsentAction, ConsentSource, ConsentStatus, ContactStatus, WebhookEvent
from sender.i18n import N_
from sender.models import ConsentEvent, ConsentState, ConsentWording, Contact, Purpose
from sender.services.errors import ValidationFailed
from sender.services.sequences import enrol as sequences
from sender.services.webhooks import events as outbox

CHANNELS = tuple(Channel)
# What a caller records; `request` is only ever stored by the double opt-in rule below.
ACTIONS = (ConsentAction.GRANT, ConsentAction.WITHDRAW)

# Only an affirmative act of the person counts (GDPR Art. 4(11), CNIL): these never become consent (R3).
NON_AFFIRMATIVE = frozenset({"pre_ticked", "terms_acceptance", "silence", "implied", "inactivity", "opt_out"})
GRANT_MECHANISMS = frozenset(
    {"checkbox", "double_opt_in", "sms_keyword", "signed_form", "button", "verbal_recorded"}
)
WITHDRAW_MECHANISMS = frozenset(
    {
        "one_click",
        "link",
        "form",
        "sms_keyword",
        "email_request",
        "phone_request",
        "postal_request",
        "objection",
        "api",
        "hard_bounce",
        "erasure",
        "complaint",
    }
)
SOURCES = frozenset(ConsentSource)
# Proof must not itself become excessive processing (EDPB 05/2020 §5.1): keep these keys, short.
EVIDENCE_KEYS = {
    "ip": 64,
    "user_agent": 200,
    "form_id": 100,
    "request_id": 100,
    "page_url": 300,
    "note": 300,
    "import_batch": 32,
    # A complaint's proof: the provider's or the report's own id (never the complainant's address).
    "report_id": 100,
}
# Sources where the person acted themselves: they reset the "last interaction" clock (CNIL 3-year rule).
PERSON_SOURCES = frozenset(
    {
        ConsentSource.FORM,
        ConsentSource.DOUBLE_OPT_IN,
        ConsentSource.REQUALIFICATION,
        ConsentSource.PORTAL,
        ConsentSource.SMS_KEYWORD,
    }
)


def truncate_ip(raw: str) -> str:
    """The network part only (IPv4 /24, IPv6 /48): enough to show where from, not who (EDPB 05/2020)."""
    address = ipaddress.ip_address(raw.strip())
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def minimal_evidence(evidence: dict[str, Any] | None) -> dict[str, str]:
    """Keep only the allowed evidence keys, as truncated strings."""
    if not evidence:
        return {}
    if not isinstance(evidence, dict):
        raise ValidationFailed({"evidence": N_("must be an object")})
    unknown = sorted(set(evidence) - set(EVIDENCE_KEYS))
    if unknown:
        raise ValidationFailed(
            {
                "evidence": N_(
                    "unknown keys %(unknown)s; allowed: %(evidence_keys)s",
                    unknown=unknown,
                    evidence_keys=sorted(EVIDENCE_KEYS),
                )
            }
        )
    return {k: str(v)[: EVIDENCE_KEYS[k]] for k, v in evidence.items() if v is not None}


def _validate(action: str, channel: str, source: str, mechanism: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if channel not in CHANNELS:
        errors["channel"] = N_("must be one of %(choices)s", choices=", ".join(CHANNELS))
    if action not in ACTIONS:
        errors["action"] = N_("must be one of %(choices)s", choices=", ".join(ACTIONS))
    if source not in SOURCES:
        errors["source"] = N_("must be one of %(choices)s", choices=", ".join(sorted(SOURCES)))
    if action != ConsentAction.WITHDRAW and mechanism in NON_AFFIRMATIVE:
        errors["mechanism"] = N_(
            "%(mechanism)r is not an affirmative act and can never record consent", mechanism=mechanism
        )
    elif action == ConsentAction.GRANT and mechanism not in GRANT_MECHANISMS:
        errors["mechanism"] = N_(
            "for a grant, must be one of %(choices)s", choices=", ".join(sorted(GRANT_MECHANISMS))
        )
    elif action == ConsentAction.WITHDRAW and mechanism not in WITHDRAW_MECHANISMS:
        errors["mechanism"] = N_(
            "for a withdrawal, must be one of %(choices)s", choices=", ".join(sorted(WITHDRAW_MECHANISMS))
        )
    return errors


def _wording(session: Session, purpose: Purpose, version: int | None) -> ConsentWording | None:
    if version is None:
        return None
    return session.scalar(
        select(ConsentWording).where(
            ConsentWording.purpose_id == purpose.id, ConsentWording.version == version
        )
    )


def record(
    session: Session,
    contact: Contact,
    purpose: Purpose,
    *,
    channel: str,
    action: str,
    source: str,
    mechanism: str,
    actor: str,
    wording_version: int | None = None,
    collection_point: str | None = None,
    evidence: dict[str, Any] | None = None,
    at: datetime | None = None,
    await_confirmation: bool = False,
) -> ConsentEvent:
    """Append a consent event with its proof and update the current state; the caller commits.

    With `await_confirmation` (sign-up forms), a grant is stored as a request until its link is clicked.
    """
    errors = _validate(action, channel, source, mechanism)
    wording = _wording(session, purpose, wording_version)
    if action == ConsentAction.GRANT and wording_version is None:
        errors["wording_version"] = N_("a grant must name the wording version the person saw")
    elif wording_version is not None and wording is None:
        errors["wording_version"] = N_(
            "purpose %(slug)r has no wording version %(version)s",
            slug=purpose.slug,
            version=wording_version,
        )
    if contact.status == ContactStatus.ERASED:
        errors["contact"] = N_("the contact is erased")
    clean_evidence = minimal_evidence(evidence) if "evidence" not in errors else {}
    if errors:
        raise ValidationFailed(errors)

    # The database stores naive UTC; an aware moment is converted, never compared or stored as is.
    now = at.astimezone(UTC).replace(tzinfo=None) if at and at.tzinfo else (at or utcnow())
    stored_action = action
    # Where double opt-in is required, a first grant only asks; the confirmation click grants.
    if action == ConsentAction.GRANT and (
        await_confirmation or (purpose.requires_double_opt_in and mechanism != "double_opt_in")
    ):
        stored_action = ConsentAction.REQUEST
    expires_at = None
    if stored_action == ConsentAction.GRANT and purpose.consent_validity_days:
        expires_at = now + timedelta(days=purpose.consent_validity_days)

    event = ConsentEvent(
        contact_id=contact.id,
        purpose_id=purpose.id,
        channel=channel,
        action=stored_action,
        occurred_at=now,
        source=source,
        mechanism=mechanism,
        wording_id=wording.id if wording else None,
        collection_point=collection_point,
        actor=actor,
        evidence=clean_evidence,
        expires_at=expires_at,
    )
    session.add(event)
    session.flush()
    _apply(session, event)
    _hooks(
        session,
        stored_action,
        event.channel,
        [(event.id, contact.id, purpose.id)],
        now=now,
        known=({contact.id: contact.public_id}, {purpose.id: purpose.slug}),
    )
    work.after_commit(
        session, "consent metrics", lambda: metrics.consent_event(channel, stored_action, source)
    )
    # Only forward: a back-dated event must not shorten the retention clock.
    if source in PERSON_SOURCES and (
        contact.last_interaction_at is None or now > contact.last_interaction_at
    ):
        contact.last_interaction_at = now
    return event


# The outgoing webhook each stored action makes (a request waiting for its confirmation makes none).
EVENT_OF_ACTION = {
    ConsentAction.GRANT: WebhookEvent.CONSENT_GRANTED,
    ConsentAction.WITHDRAW: WebhookEvent.CONSENT_WITHDRAWN,
}


def _hooks(
    session: Session,
    action: str,
    channel: str,
    written: Sequence[tuple[int, int, int]],
    *,
    now: datetime,
    known: tuple[Mapping[int, str], Mapping[int, str]] = ({}, {}),
) -> None:
    """What every written consent event sets off, set-based: sequences enrol or exit, the webhook goes out.

    Every writer of the ledger calls this (record, imports, bulk withdrawals), on its (event, contact,
    purpose) ids, in the same transaction as the events themselves.
    """
    kind = EVENT_OF_ACTION.get(ConsentAction(action))
    if kind is None or not written:
        return
    by_purpose: dict[int, list[int]] = {}
    for _, contact_id, purpose_id in written:
        by_purpose.setdefault(purpose_id, []).append(contact_id)
    sequences.on_consents(session, action, by_purpose, now=now)
    # `known`: the public ids and slugs the caller holds already (one event on the unsubscribe's hot path).
    public_ids, slugs = dict(known[0]), dict(known[1])
    contact_ids = {contact_id for _, contact_id, _ in written} - public_ids.keys()
    if contact_ids:
        found = session.execute(select(Contact.id, Contact.public_id).where(Contact.id.in_(contact_ids)))
        public_ids.update({contact_id: public_id for contact_id, public_id in found})
    purpose_ids = by_purpose.keys() - slugs.keys()
    if purpose_ids:
        named = session.execute(select(Purpose.id, Purpose.slug).where(Purpose.id.in_(purpose_ids)))
        slugs.update({purpose_id: slug for purpose_id, slug in named})
    payloads: list[tuple[dict[str, outbox.PayloadValue], int | None]] = [
        (
            {
                "contact": public_ids[contact_id],
                "purpose": slugs[purpose_id],
                "channel": channel,
                "consent_event": event_id,
            },
            contact_id,
        )
        for event_id, contact_id, purpose_id in written
    ]
    outbox.emit_many(session, kind, payloads)


STATUS_OF_ACTION = {
    ConsentAction.GRANT: ConsentStatus.GRANTED,
    ConsentAction.WITHDRAW: ConsentStatus.WITHDRAWN,
    ConsentAction.REQUEST: ConsentStatus.PENDING,
}


def _supersedes(event: ConsentEvent, state: ConsentState) -> bool:
    """Whether an event replaces the current state: the latest event decides, and withdrawals always end."""
    if event.occurred_at >= state.since:
        return True
    # An older event (a back-dated import, a grant stamped in the future, a transaction that waited on the
    # row lock) never revives consent; a withdrawal still ends a grant or request: when in doubt, deny.
    return event.action == ConsentAction.WITHDRAW and state.status != ConsentStatus.WITHDRAWN


def _apply(session: Session, event: ConsentEvent) -> None:
    """Fold one event into the materialised state row."""
    values = {
        "contact_id": event.contact_id,
        "purpose_id": event.purpose_id,
        "channel": event.channel,
        "status": STATUS_OF_ACTION[ConsentAction(event.action)],
        "since": event.occurred_at,
        "expires_at": event.expires_at,
        "last_event_id": event.id,
    }
    if _insert_if_absent(session, values):
        return
    state = session.get(
        ConsentState,
        (event.contact_id, event.purpose_id, event.channel),
        with_for_update=True,
        populate_existing=True,
    )
    if state is None:  # only on a backend without INSERT .. ON CONFLICT
        session.add(ConsentState(**values))
    elif _supersedes(event, state):
        state.status = str(values["status"])
        state.since = event.occurred_at
        state.expires_at = event.expires_at
        state.last_event_id = event.id
    session.flush()


def _insert_if_absent(session: Session, values: dict[str, Any]) -> bool:
    """Create the state row unless it exists; True if created.

    Two first events for the same contact, purpose and channel then queue on the row instead of one
    failing on the primary key (which would lose, say, a withdrawal racing a sign-up).
    """
    dialect = session.get_bind().dialect.name
    table = cast(Table, ConsentState.__table__)
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(values).on_conflict_do_nothing()
    else:
        return False
    session.flush()
    # psycopg reports an INSERT's rowcount only when asked to keep it.
    result = session.connection().execute(stmt, execution_options={"preserve_rowcount": True})
    return bool(result.rowcount == 1)


def history(session: Session, contact_id: int) -> list[ConsentEvent]:
    """Every consent event of a contact, oldest first."""
    return list(
        session.scalars(
            select(ConsentEvent).where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)
        )
    )


def current_states(session: Session, contact_id: int) -> list[ConsentState]:
    """The current state per purpose and channel of a contact."""
    return list(
        session.scalars(
            select(ConsentState)
            .where(ConsentState.contact_id == contact_id)
            .order_by(ConsentState.purpose_id, ConsentState.channel)
        )
    )


def withdraw_everywhere(
    session: Session,
    contact: Contact,
    *,
    source: str,
    mechanism: str,
    actor: str,
    evidence: dict[str, Any] | None = None,
) -> list[ConsentEvent]:
    """Art. 21 objection to all direct marketing: a withdrawal for every purpose on every channel."""
    purposes = session.scalars(select(Purpose).order_by(Purpose.id)).all()
    events = []
    for purpose in purposes:
        for channel in CHANNELS:
            events.append(
                record(
                    session,
                    contact,
                    purpose,
                    channel=channel,
                    action=ConsentAction.WITHDRAW,
                    source=source,
                    mechanism=mechanism,
                    actor=actor,
                    evidence=evidence,
                )
            )
    return events


def _stored_action(purpose: Purpose, mechanism: str) -> ConsentAction:
    if purpose.requires_double_opt_in and mechanism != "double_opt_in":
        return ConsentAction.REQUEST
    return ConsentAction.GRANT


def import_refusals(
    session: Session,
    purpose: Purpose,
    channel: str,
    contact_ids: list[int],
    mechanism: str,
    *,
    lock: bool = False,
) -> dict[int, str]:
    """Contacts an imported grant must leave alone, with why: a withdrawal is never lifted, a grant never lowered."""
    if not contact_ids:
        return {}
    stmt = select(ConsentState.contact_id, ConsentState.status).where(
        ConsentState.purpose_id == purpose.id,
        ConsentState.channel == channel,
        ConsentState.contact_id.in_(contact_ids),
    )
    if lock:
        # Queue behind (and ahead of) record(), which locks the same rows before folding an event in.
        stmt = stmt.with_for_update()
    action = _stored_action(purpose, mechanism)
    refusals = {}
    for contact_id, status in session.execute(stmt):
        if status == ConsentStatus.WITHDRAWN:
            refusals[contact_id] = N_("the contact withdrew this consent; an import never lifts a withdrawal")
        elif status == ConsentStatus.GRANTED and action == ConsentAction.REQUEST:
            refusals[contact_id] = N_("consent already granted; a confirmation request would lower it")
    return refusals


@dataclass(frozen=True)
class ImportedProof:
    """The proof one imported row brings: when, where, which wording, and its minimal evidence."""

    occurred_at: datetime
    collection_point: str
    wording_version: int
    evidence: dict[str, Any]


def record_imported_grants(
    session: Session,
    purpose: Purpose,
    channel: str,
    proofs: Mapping[int, ImportedProof],
    *,
    mechanism: str,
    actor: str,
) -> dict[int, str]:
    """Record one grant per contact (each with its own proof) set-based, with record()'s rules.

    Returns the contacts left alone, with why.
    """
    errors = _validate(ConsentAction.GRANT, channel, ConsentSource.IMPORT, mechanism)
    versions = {proof.wording_version for proof in proofs.values()}
    found = session.execute(
        select(ConsentWording.version, ConsentWording.id).where(
            ConsentWording.purpose_id == purpose.id, ConsentWording.version.in_(versions)
        )
    )
    wording_ids = {version: wording_id for version, wording_id in found}
    missing = sorted(versions - set(wording_ids))
    if missing:
        errors["wording_version"] = N_(
            "purpose %(slug)r has no wording version %(version)s", slug=purpose.slug, version=missing[0]
        )
    if errors:
        raise ValidationFailed(errors)
    refusals = import_refusals(session, purpose, channel, list(proofs), mechanism, lock=True)
    ids = [cid for cid in proofs if cid not in refusals]
    if not ids:
        return refusals
    action = _stored_action(purpose, mechanism)
    validity = purpose.consent_validity_days if action == ConsentAction.GRANT else None
    rows: list[dict[str, Any]] = []
    moments: dict[int, tuple[datetime, datetime | None]] = {}
    for contact_id in ids:
        proof = proofs[contact_id]
        expires_at = proof.occurred_at + timedelta(days=validity) if validity else None
        moments[contact_id] = (proof.occurred_at, expires_at)
        rows.append(
            {
                "contact_id": contact_id,
                "purpose_id": purpose.id,
                "channel": channel,
                "action": action.value,
                "occurred_at": proof.occurred_at,
                "source": ConsentSource.IMPORT.value,
                "mechanism": mechanism,
                "wording_id": wording_ids[proof.wording_version],
                "collection_point": proof.collection_point,
                "actor": actor,
                "evidence": minimal_evidence(proof.evidence),
                "expires_at": expires_at,
            }
        )
    events = cast(Table, ConsentEvent.__table__)
    returning = (events.c.id, events.c.contact_id)
    shared = {key: value for key, value in rows[0].items() if key != "contact_id"}
    if all({**shared, "contact_id": row["contact_id"]} == row for row in rows):
        # One proof for all (the batch's claim): one INSERT .. SELECT, its constants bound once.
        constants = [literal(value, events.c[key].type) for key, value in shared.items()]
        chosen = select(Contact.id, *constants).where(Contact.id.in_(ids))
        stmt = insert(events).from_select(["contact_id", *shared], chosen).returning(*returning)
        inserted = session.execute(stmt)
    else:
        # One executemany (batched VALUES with RETURNING on both backends) for the rows' own proofs.
        inserted = session.execute(insert(events).returning(*returning), rows)
    folds = [(contact_id, event_id, *moments[contact_id]) for event_id, contact_id in inserted]
    _fold_many(session, action, purpose.id, channel, folds)
    # An imported proof may be years old: sequences count their delays from the import, not from it.
    _hooks(session, action, channel, [(e, c, purpose.id) for c, e, *_ in folds], now=utcnow())
    return refusals


def _fold_many(
    session: Session,
    action: str,
    purpose_id: int,
    channel: str,
    folds: list[tuple[int, int, datetime, datetime | None]],
) -> None:
    """_apply for many events (contact, event, since, expiry): insert the state, or replace it where _supersedes would."""
    rows = [
        {
            "contact_id": contact_id,
            "purpose_id": purpose_id,
            "channel": channel,
            "status": STATUS_OF_ACTION[ConsentAction(action)],
            "since": since,
            "expires_at": expires_at,
            "last_event_id": event_id,
        }
        for contact_id, event_id, since, expires_at in folds
    ]
    _upsert_states(session, action, rows)


def _upsert_states(session: Session, action: str, rows: list[dict[str, Any]]) -> None:
    """Insert each state row, or replace the existing one where _supersedes says the event wins."""
    table = cast(Table, ConsentState.__table__)
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"bulk consent recording needs INSERT .. ON CONFLICT ({dialect})")
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    newer = stmt.excluded.since >= table.c.since
    not_withdrawn = table.c.status != ConsentStatus.WITHDRAWN
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.contact_id, table.c.purpose_id, table.c.channel],
        set_={
            "status": stmt.excluded.status,
            "since": stmt.excluded.since,
            "expires_at": stmt.excluded.expires_at,
            "last_event_id": stmt.excluded.last_event_id,
        },
        # The latest event decides, and a withdrawal that slipped in meanwhile is never lifted; a
        # withdrawal ends whatever is not withdrawn yet, even when older (when in doubt, deny).
        where=or_(newer, not_withdrawn) if action == ConsentAction.WITHDRAW else and_(newer, not_withdrawn),
    )
    session.execute(stmt, rows)
    # Rows this session holds are read again: the statement bypassed them.
    for row in rows:
        key = identity_key(ConsentState, (row["contact_id"], row["purpose_id"], row["channel"]))
        held = session.identity_map.get(key)
        if held is not None:
            session.expire(held)


@dataclass(frozen=True)
class Withdrawal:
    """One withdrawal of `record_withdrawals`: whose consent to what, who acted, where, with what proof."""

    contact_id: int
    purpose_id: int
    actor: str
    collection_point: str | None = None
    evidence: dict[str, Any] | None = None


def record_withdrawals(
    session: Session,
    withdrawals: Sequence[Withdrawal],
    *,
    channel: str,
    source: str,
    mechanism: str,
) -> list[tuple[int, int, int]]:
    """record() for many withdrawals on one channel, set-based: one statement for the events, one for the states.

    The caller locks the state rows first (as withdrawal.withdraw does). Returns (event, contact, purpose) ids.
    """
    errors = _validate(ConsentAction.WITHDRAW, channel, source, mechanism)
    if errors:
        raise ValidationFailed(errors)
    if not withdrawals:
        return []
    contact_ids = {w.contact_id for w in withdrawals}
    erased = session.scalar(
        select(Contact.id).where(Contact.id.in_(contact_ids), Contact.status == ContactStatus.ERASED).limit(1)
    )
    if erased is not None:
        raise ValidationFailed({"contact": N_("the contact is erased")})
    now = utcnow()
    rows = [
        {
            "contact_id": w.contact_id,
            "purpose_id": w.purpose_id,
            "channel": channel,
            "action": ConsentAction.WITHDRAW.value,
            "occurred_at": now,
            "source": source,
            "mechanism": mechanism,
            "wording_id": None,
            "collection_point": w.collection_point,
            "actor": w.actor,
            "evidence": minimal_evidence(w.evidence),
            "expires_at": None,
        }
        for w in withdrawals
    ]
    events = cast(Table, ConsentEvent.__table__)
    # One executemany (batched VALUES with RETURNING on both backends).
    inserted = session.execute(
        insert(events).returning(events.c.id, events.c.contact_id, events.c.purpose_id), rows
    ).all()
    _upsert_states(
        session,
        ConsentAction.WITHDRAW,
        [
            {
                "contact_id": contact_id,
                "purpose_id": purpose_id,
                "channel": channel,
                "status": ConsentStatus.WITHDRAWN.value,
                "since": now,
                "expires_at": None,
                "last_event_id": event_id,
            }
            for event_id, contact_id, purpose_id in inserted
        ],
    )
    _hooks(session, ConsentAction.WITHDRAW, channel, [(e, c, p) for e, c, p in inserted], now=now)
    count = len(inserted)

    def _count() -> None:
        for _ in range(count):
            metrics.consent_event(channel, ConsentAction.WITHDRAW, source)

    work.after_commit(session, "consent metrics", _count)
    if source in PERSON_SOURCES:
        # As in record(): only forward.
        session.execute(
            update(Contact)
            .where(
                Contact.id.in_(contact_ids),
                or_(Contact.last_interaction_at.is_(None), Contact.last_interaction_at < now),
            )
            .values(last_interaction_at=now)
        )
    return [(int(e), int(c), int(p)) for e, c, p in inserted]
