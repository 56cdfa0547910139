"""Property: the gate equals a plain replay of the consent history, for one contact and in set form.

Each example builds purposes, contacts, suppressions and a random history of consent actions inside a
savepoint, asks the gate at a random later moment, and compares with the rule written out in Python:
the latest event per (contact, purpose, channel) decides; a request means pending confirmation; a grant
has expired when its expiry is at or before the query time; refusals follow the order of gate.REASONS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.channels.base import get_channel
from sender.models import ConsentEvent, ConsentState, Contact, Purpose, Suppression
from sender.services.consent import gate, ledger
from tests.factories import TEST_HASH_KEY, ContactFactory, PurposeFactory, WordingFactory

BASE = datetime(2024, 1, 1, 9, 0, 0)
VALIDITIES = (None, 1, 30, 365, 1095)
STATUSES = ("active", "restricted", "erased")
GRANT_MECHANISMS = sorted(ledger.GRANT_MECHANISMS)
WITHDRAW_MECHANISMS = sorted(ledger.WITHDRAW_MECHANISMS)
SOURCES = sorted(ledger.SOURCES)

# Round gaps make ties and exact expiry boundaries likely; random seconds cover the rest.
GAPS = st.one_of(
    st.sampled_from(
        [timedelta(0), timedelta(seconds=1), timedelta(days=1), timedelta(days=30), timedelta(days=1095)]
    ),
    st.integers(min_value=0, max_value=1200 * 86400).map(lambda s: timedelta(seconds=s)),
)


@dataclass(frozen=True)
class PurposeSpec:
    double_opt_in: bool
    validity_days: int | None


@dataclass(frozen=True)
class ContactSpec:
    status: str
    has_email: bool
    has_phone: bool
    suppressed: frozenset[str]
    # The email's hash suppressed on the SMS channel: must not block anything.
    decoy: bool


@dataclass(frozen=True)
class Action:
    contact: int
    purpose: int
    channel: str
    action: str
    mechanism: str
    source: str
    gap: timedelta


@dataclass(frozen=True)
class Scenario:
    purposes: list[PurposeSpec]
    contacts: list[ContactSpec]
    actions: list[Action]
    query_gap: timedelta
    # Index of an action whose expiry moment (if its purpose has one) is the query time: hits `<=` exactly.
    query_anchor: int | None


purpose_specs = st.builds(PurposeSpec, st.one_of(st.just(False), st.booleans()), st.sampled_from(VALIDITIES))
# Mostly soon after the last event, so grants are often still valid; sometimes years later.
QUERY_GAPS = st.one_of(st.sampled_from([timedelta(0), timedelta(seconds=1), timedelta(days=1)]), GAPS)
# Weighted towards reachable consent checks, so eligible answers are common, not a rare corner.
contact_specs = st.builds(
    ContactSpec,
    st.one_of(st.just("active"), st.sampled_from(STATUSES)),
    st.one_of(st.just(True), st.booleans()),
    st.one_of(st.just(True), st.booleans()),
    st.one_of(st.just(frozenset()), st.frozensets(st.sampled_from(ledger.CHANNELS))),
    st.booleans(),
)


@st.composite
def actions(draw: st.DrawFn, n_contacts: int, n_purposes: int) -> Action:
    kind = draw(st.one_of(st.just("grant"), st.sampled_from(ledger.ACTIONS)))
    mechanisms = GRANT_MECHANISMS if kind == "grant" else WITHDRAW_MECHANISMS
    return Action(
        contact=draw(st.integers(0, n_contacts - 1)),
        purpose=draw(st.integers(0, n_purposes - 1)),
        channel=draw(st.sampled_from(ledger.CHANNELS)),
        action=kind,
        mechanism=draw(st.sampled_from(mechanisms)),
        source=draw(st.sampled_from(SOURCES)),
        gap=draw(GAPS),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    purposes = draw(st.lists(purpose_specs, min_size=1, max_size=2))
    contacts = draw(st.lists(contact_specs, min_size=1, max_size=3))
    history = draw(st.lists(actions(len(contacts), len(purposes)), max_size=14))
    # Counted from the end: a recent action's expiry usually falls after the last event.
    back = draw(st.none() | st.integers(0, min(2, len(history) - 1))) if history else None
    anchor = None if back is None else len(history) - 1 - back
    return Scenario(purposes, contacts, history, draw(QUERY_GAPS), anchor)


def replay(scenario: Scenario, contact: int, purpose: int, channel: str, query_at: datetime) -> str | None:
    """The rule, written plainly: None when eligible, else the first refusal reason in gate order."""
    spec = scenario.contacts[contact]
    if spec.status == "erased":
        return "erased"
    if spec.status == "restricted":
        return "restricted"
    if not (spec.has_email if channel == "email" else spec.has_phone):
        return "no_address"
    if channel in spec.suppressed:
        return "suppressed"
    latest: tuple[datetime, Action] | None = None
    moment = BASE
    for action in scenario.actions:
        moment += action.gap
        if (action.contact, action.purpose, action.channel) == (contact, purpose, channel):
            latest = (moment, action)  # later in the list wins ties: same time, recorded after
    if latest is None:
        return "no_consent"
    occurred_at, last = latest
    if last.action == "withdraw":
        return "withdrawn"
    purpose_spec = scenario.purposes[purpose]
    if purpose_spec.double_opt_in and last.mechanism != "double_opt_in":
        return "pending_confirmation"
    days = purpose_spec.validity_days
    if days is not None and occurred_at + timedelta(days=days) <= query_at:
        return "expired"
    return None


def query_time(scenario: Scenario, last: datetime) -> datetime:
    """When the gate is asked: after the last event, sometimes exactly when one grant expires."""
    if scenario.query_anchor is not None:
        action = scenario.actions[scenario.query_anchor]
        days = scenario.purposes[action.purpose].validity_days
        moment = BASE + sum((a.gap for a in scenario.actions[: scenario.query_anchor + 1]), timedelta())
        if days is not None and moment + timedelta(days=days) >= last:
            return moment + timedelta(days=days)
    return last + scenario.query_gap


def build(session: Session, scenario: Scenario) -> tuple[list[int], list[int], datetime]:
    """Write the scenario through the real services; return contact ids, purpose ids and the last moment."""
    purposes: list[Purpose] = []
    for purpose_spec in scenario.purposes:
        purpose = cast(
            Purpose,
            PurposeFactory(
                requires_double_opt_in=purpose_spec.double_opt_in,
                consent_validity_days=purpose_spec.validity_days,
            ),
        )
        WordingFactory(purpose=purpose, version=1)
        purposes.append(purpose)
    contacts: list[Contact] = []
    for spec in scenario.contacts:
        # Everyone starts active: the ledger refuses events for an erased person.
        contact = cast(Contact, ContactFactory())
        if spec.has_phone:
            contact = _with_phone(contact)
        if not spec.has_email:
            contact.email = contact.email_hash = None
        contacts.append(contact)
    session.flush()
    moment = BASE
    for action in scenario.actions:
        moment += action.gap
        ledger.record(
            session,
            contacts[action.contact],
            purposes[action.purpose],
            channel=action.channel,
            action=action.action,
            source=action.source,
            mechanism=action.mechanism,
            actor="property-test",
            wording_version=1 if action.action == "grant" else None,
            at=moment,
        )
    for contact, spec in zip(contacts, scenario.contacts, strict=True):
        contact.status = spec.status
        for channel in spec.suppressed:
            digest = contact.email_hash if channel == "email" else contact.phone_hash
            if digest:
                session.add(Suppression(address_hash=digest, channel=channel, reason="unsubscribe"))
        if spec.decoy and contact.email_hash and "sms" not in spec.suppressed:
            session.add(Suppression(address_hash=contact.email_hash, channel="sms", reason="complaint"))
    session.flush()
    return [c.id for c in contacts], [p.id for p in purposes], moment


def _with_phone(contact: Contact) -> Contact:
    contact.phone = f"+3361{contact.id:07d}"
    contact.phone_hash = address_hash(TEST_HASH_KEY, contact.phone)
    return contact


def _suppression_is_effective(spec: ContactSpec, channel: str) -> bool:
    # A suppression only exists when there was an address to hash.
    return channel in spec.suppressed and (spec.has_email if channel == "email" else spec.has_phone)


def _effective(scenario: Scenario) -> Scenario:
    """The scenario as written: drop suppressions of addresses the contact does not have."""
    contacts = [
        ContactSpec(
            s.status,
            s.has_email,
            s.has_phone,
            frozenset(ch for ch in s.suppressed if _suppression_is_effective(s, ch)),
            s.decoy,
        )
        for s in scenario.contacts
    ]
    return Scenario(scenario.purposes, contacts, scenario.actions, scenario.query_gap, scenario.query_anchor)


ACTIVE = ContactSpec("active", True, True, frozenset(), False)


def _grant(channel: str, gap: timedelta, purpose: int = 0) -> Action:
    return Action(0, purpose, channel, "grant", "checkbox", "form", gap)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
# Always tried, whatever the random draw: an eligible grant, and a grant asked about at its expiry moment.
@example(
    Scenario([PurposeSpec(False, None)], [ACTIVE], [_grant("email", timedelta(0))], timedelta(days=1), None)
)
@example(Scenario([PurposeSpec(False, 30)], [ACTIVE], [_grant("sms", timedelta(days=3))], timedelta(0), 0))
def test_gate_equals_replay_of_history(db_session: Session, scenario: Scenario) -> None:
    nested = db_session.begin_nested()
    try:
        contact_ids, purpose_ids, last = build(db_session, scenario)
        query_at = query_time(scenario, last)
        written = _effective(scenario)
        for p_index, purpose_id in enumerate(purpose_ids):
            for channel in ledger.CHANNELS:
                expected_eligible = set()
                for c_index, contact_id in enumerate(contact_ids):
                    reason = replay(written, c_index, p_index, channel, query_at)
                    assert reason is None or reason in gate.REASONS
                    event(f"reason: {reason}")
                    event(f"anchored: {query_at != last + scenario.query_gap}")
                    answer = gate.check(db_session, contact_id, purpose_id, channel, at=query_at)
                    assert answer == gate.Eligibility(reason is None, reason), (c_index, p_index, channel)
                    if reason is None:
                        expected_eligible.add(contact_id)
                stmt, reason_col = gate.gated_audience(purpose_id, get_channel(channel), query_at)
                eligible = {row.id for row in db_session.execute(stmt.where(reason_col.is_(None)))}
                assert eligible == expected_eligible, (p_index, channel)
        _assert_state_matches_ledger(db_session, contact_ids)
    finally:
        nested.rollback()
        # Each example starts from an empty identity map as well as an empty database.
        db_session.expunge_all()


def _assert_state_matches_ledger(session: Session, contact_ids: list[int]) -> None:
    """The materialised state points at the latest event of each (contact, purpose, channel)."""
    latest = {
        (e.contact_id, e.purpose_id, e.channel): e
        for e in session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.contact_id.in_(contact_ids))
            .order_by(ConsentEvent.occurred_at, ConsentEvent.id)
        )
    }
    states = session.scalars(select(ConsentState).where(ConsentState.contact_id.in_(contact_ids))).all()
    assert {(s.contact_id, s.purpose_id, s.channel): s.last_event_id for s in states} == {
        key: event.id for key, event in latest.items()
    }
    assert session.scalar(select(func.count()).select_from(ConsentState)) == len(states)
