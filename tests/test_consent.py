"""ledger.record and friends: affirmative acts only, minimal proof, an append-only ledger (R2, R3, R12)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sender.models import ConsentEvent, ConsentState, ConsentWording, Contact, Purpose
from sender.models.consent import ImmutableRecord
from sender.runtime import Runtime
from sender.services.consent import ledger
from sender.services.errors import ValidationFailed
from tests.factories import ContactFactory, PurposeFactory, WordingFactory

T0 = datetime(2024, 6, 1, 8, 30, 0)


def make_purpose(**kwargs: Any) -> Purpose:
    """A purpose with wording version 1."""
    purpose = cast(Purpose, PurposeFactory(**kwargs))
    WordingFactory(purpose=purpose, version=1)
    return purpose


def make_contact(**kwargs: Any) -> Contact:
    """A contact with an email address."""
    return cast(Contact, ContactFactory(**kwargs))


def record(session: Session, contact: Contact, purpose: Purpose, **overrides: Any) -> ConsentEvent:
    """ledger.record with the arguments of an ordinary form sign-up, overridable."""
    params: dict[str, Any] = {
        "channel": "email",
        "action": "grant",
        "source": "form",
        "mechanism": "checkbox",
        "actor": "test",
        "wording_version": 1,
    }
    params.update(overrides)
    return ledger.record(session, contact, purpose, **params)


def counts(session: Session, contact: Contact) -> tuple[int, int]:
    """How many consent events and state rows a contact has."""
    events = session.scalar(
        select(func.count()).select_from(ConsentEvent).where(ConsentEvent.contact_id == contact.id)
    )
    states = session.scalar(
        select(func.count()).select_from(ConsentState).where(ConsentState.contact_id == contact.id)
    )
    return events or 0, states or 0


@pytest.mark.parametrize("mechanism", ["pre_ticked", "terms_acceptance", "silence"])
def test_non_affirmative_mechanisms_are_refused_r3(db_session: Session, mechanism: str) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, mechanism=mechanism)
    assert set(caught.value.errors) == {"mechanism"}
    assert "affirmative" in caught.value.errors["mechanism"]
    assert counts(db_session, contact) == (0, 0)


def test_unknown_grant_mechanism_is_refused(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, mechanism="one_click")
    assert "mechanism" in caught.value.errors
    assert counts(db_session, contact) == (0, 0)


def test_withdrawal_with_a_grant_only_mechanism_names_the_withdrawal_list(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, action="withdraw", mechanism="opt_out", wording_version=None)
    assert caught.value.errors["mechanism"].startswith("for a withdrawal, must be one of")


def test_grant_without_wording_version_is_refused_r2(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, wording_version=None)
    assert set(caught.value.errors) == {"wording_version"}
    assert counts(db_session, contact) == (0, 0)


def test_unknown_wording_version_is_refused(db_session: Session) -> None:
    purpose = make_purpose()
    other = make_purpose()
    WordingFactory(purpose=other, version=2)
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, wording_version=2)  # version 2 exists, but for another purpose
    assert set(caught.value.errors) == {"wording_version"}
    assert counts(db_session, contact) == (0, 0)


def test_several_errors_are_reported_together(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, channel="fax", source="rumour", mechanism="silence")
    assert set(caught.value.errors) == {"channel", "source", "mechanism"}


def test_erased_contact_gets_no_new_events(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact(status="erased")
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose)
    assert "contact" in caught.value.errors
    assert counts(db_session, contact) == (0, 0)


def test_grant_stores_its_proof_r2(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=30)
    contact = make_contact()
    event = record(
        db_session,
        contact,
        purpose,
        collection_point="signup-footer",
        evidence={"ip": "192.0.2.1", "form_id": "footer-v3"},
        at=T0,
    )
    db_session.expire_all()
    stored = db_session.get(ConsentEvent, event.id)
    assert stored is not None
    wording = db_session.scalar(select(ConsentWording).where(ConsentWording.purpose_id == purpose.id))
    assert wording is not None
    assert (stored.action, stored.occurred_at, stored.source, stored.mechanism) == (
        "grant",
        T0,
        "form",
        "checkbox",
    )
    assert (stored.wording_id, stored.collection_point, stored.actor) == (wording.id, "signup-footer", "test")
    assert stored.evidence == {"ip": "192.0.2.1", "form_id": "footer-v3"}
    assert stored.expires_at == T0 + timedelta(days=30)


def test_withdrawal_never_carries_an_expiry(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=30)
    contact = make_contact()
    record(db_session, contact, purpose, at=T0)
    event = record(
        db_session, contact, purpose, action="withdraw", source="one_click", mechanism="one_click",
        wording_version=None, at=T0 + timedelta(days=1),
    )  # fmt: skip
    assert event.expires_at is None
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None
    assert (state.status, state.expires_at, state.last_event_id) == ("withdrawn", None, event.id)


def test_double_opt_in_purpose_stores_a_request_until_the_click(db_session: Session) -> None:
    purpose = make_purpose(requires_double_opt_in=True, consent_validity_days=365)
    contact = make_contact()
    asked = record(db_session, contact, purpose, at=T0)
    assert (asked.action, asked.expires_at) == ("request", None)
    confirmed = record(
        db_session, contact, purpose, source="double_opt_in", mechanism="double_opt_in",
        at=T0 + timedelta(hours=2),
    )  # fmt: skip
    assert confirmed.action == "grant"
    assert confirmed.expires_at == T0 + timedelta(hours=2, days=365)
    assert [e.action for e in ledger.history(db_session, contact.id)] == ["request", "grant"]


def test_evidence_with_unknown_keys_is_refused(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, evidence={"ip": "192.0.2.1", "cookies": "a=b", "email": "x@y.z"})
    assert set(caught.value.errors) == {"evidence"}
    assert "cookies" in caught.value.errors["evidence"]
    assert counts(db_session, contact) == (0, 0)


def test_evidence_values_are_truncated_and_stringified(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    event = record(
        db_session,
        contact,
        purpose,
        evidence={"user_agent": "M" * 5000, "note": "n" * 301, "request_id": 12345, "page_url": None},
    )
    db_session.expire_all()
    stored = db_session.get(ConsentEvent, event.id)
    assert stored is not None
    assert stored.evidence == {
        "user_agent": "M" * ledger.EVIDENCE_KEYS["user_agent"],
        "note": "n" * ledger.EVIDENCE_KEYS["note"],
        "request_id": "12345",
    }


def test_evidence_must_be_an_object(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValidationFailed) as caught:
        record(db_session, contact, purpose, evidence=["ip", "192.0.2.1"])
    assert set(caught.value.errors) == {"evidence"}


def _refused_on_flush(session: Session, change: Any) -> None:
    """Apply a change inside a savepoint and check the flush refuses it."""
    with pytest.raises(ImmutableRecord), session.begin_nested():
        change()
        session.flush()


def test_consent_events_cannot_be_updated_or_deleted_r2(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    event = record(db_session, contact, purpose, at=T0)
    db_session.flush()

    def edit() -> None:
        event.action = "withdraw"

    _refused_on_flush(db_session, edit)
    _refused_on_flush(db_session, lambda: db_session.delete(event))
    db_session.expire_all()
    stored = db_session.get(ConsentEvent, event.id)
    assert stored is not None
    assert (stored.action, stored.occurred_at) == ("grant", T0)


def test_consent_wordings_cannot_be_updated_or_deleted_r2(db_session: Session) -> None:
    purpose = make_purpose()
    wording = db_session.scalar(select(ConsentWording).where(ConsentWording.purpose_id == purpose.id))
    assert wording is not None
    original = wording.text

    def edit() -> None:
        wording.text = "Something else entirely."

    _refused_on_flush(db_session, edit)
    _refused_on_flush(db_session, lambda: db_session.delete(wording))
    db_session.expire_all()
    stored = db_session.get(ConsentWording, wording.id)
    assert stored is not None
    assert stored.text == original


def test_event_and_state_share_one_transaction(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    nested = db_session.begin_nested()
    event = record(db_session, contact, purpose)
    assert counts(db_session, contact) == (1, 1)
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None
    assert state.last_event_id == event.id
    nested.rollback()
    assert counts(db_session, contact) == (0, 0)


def test_state_follows_the_latest_event(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=None)
    contact = make_contact()
    record(db_session, contact, purpose, at=T0)
    withdrawal = record(
        db_session, contact, purpose, action="withdraw", source="portal", mechanism="form",
        wording_version=None, at=T0 + timedelta(days=1),
    )  # fmt: skip
    states = ledger.current_states(db_session, contact.id)
    assert [(s.status, s.since, s.last_event_id) for s in states] == [
        ("withdrawn", T0 + timedelta(days=1), withdrawal.id)
    ]


def test_backdated_events_are_kept_as_evidence_but_do_not_revive_consent(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=None)
    contact = make_contact()
    withdrawal = record(
        db_session, contact, purpose, action="withdraw", source="one_click", mechanism="one_click",
        wording_version=None, at=T0,
    )  # fmt: skip
    old_grant = record(db_session, contact, purpose, source="import", at=T0 - timedelta(days=200))
    assert [e.id for e in ledger.history(db_session, contact.id)] == [withdrawal.id, old_grant.id]
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None
    assert (state.status, state.last_event_id) == ("withdrawn", withdrawal.id)


def test_withdraw_everywhere_covers_every_purpose_and_channel_r12(db_session: Session) -> None:
    purposes = [make_purpose() for _ in range(3)]
    contact = make_contact(phone="+33612345678")
    record(db_session, contact, purposes[0])
    record(db_session, contact, purposes[1], channel="sms")
    events = ledger.withdraw_everywhere(
        db_session, contact, source="portal", mechanism="objection", actor="contact",
        evidence={"request_id": "r-1"},
    )  # fmt: skip
    assert sorted((e.purpose_id, e.channel) for e in events) == sorted(
        (p.id, ch) for p in purposes for ch in ledger.CHANNELS
    )
    assert {(e.action, e.mechanism, e.source) for e in events} == {("withdraw", "objection", "portal")}
    states = ledger.current_states(db_session, contact.id)
    assert len(states) == len(purposes) * len(ledger.CHANNELS)
    assert {s.status for s in states} == {"withdrawn"}


@pytest.mark.parametrize("source", sorted(ledger.SOURCES))
def test_last_interaction_moves_only_for_person_initiated_sources(db_session: Session, source: str) -> None:
    purpose = make_purpose()
    contact = make_contact(last_interaction_at=T0)
    mechanism = "double_opt_in" if source == "double_opt_in" else "checkbox"
    record(db_session, contact, purpose, source=source, mechanism=mechanism, at=T0 + timedelta(days=3))
    expected = T0 + timedelta(days=3) if source in ledger.PERSON_SOURCES else T0
    db_session.flush()
    db_session.expire_all()
    stored = db_session.get(Contact, contact.id)
    assert stored is not None
    assert stored.last_interaction_at == expected


def test_person_sources_are_the_ones_where_the_person_acts() -> None:
    assert {"form", "double_opt_in", "requalification", "portal", "sms_keyword"} == ledger.PERSON_SOURCES


def test_backdated_event_does_not_move_last_interaction_back(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact(last_interaction_at=T0)
    record(db_session, contact, purpose, source="form", at=T0 - timedelta(days=100))
    assert contact.last_interaction_at == T0


def test_an_aware_moment_is_stored_as_naive_utc(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=10)
    contact = make_contact()
    paris_summer = timezone(timedelta(hours=2))
    record(db_session, contact, purpose, at=T0)
    event = record(
        db_session, contact, purpose, action="withdraw", source="portal", mechanism="form",
        wording_version=None, at=datetime(2024, 6, 1, 12, 30, tzinfo=paris_summer),
    )  # fmt: skip
    db_session.flush()
    db_session.expire_all()
    stored = db_session.get(ConsentEvent, event.id)
    assert stored is not None
    assert stored.occurred_at == datetime(2024, 6, 1, 10, 30)
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None
    assert (state.status, state.since) == ("withdrawn", datetime(2024, 6, 1, 10, 30))


def test_racing_first_events_both_land_and_the_later_one_decides(committed: Runtime) -> None:
    # Two first events for the same contact, purpose and channel: the second waits for the first
    # instead of failing on the state row's primary key, so a withdrawal racing a sign-up is not lost.
    with committed.Session() as setup:
        purpose = Purpose(slug="race", name="Race", description="d")
        setup.add(purpose)
        setup.flush()
        setup.add(ConsentWording(purpose_id=purpose.id, version=1, text="Yes please."))
        contact = Contact(email="race@example.org", email_hash="h" * 64)
        setup.add(contact)
        setup.commit()
        contact_id, purpose_id = contact.id, purpose.id

    first = committed.Session()
    c1, p1 = first.get(Contact, contact_id), first.get(Purpose, purpose_id)
    assert c1 is not None and p1 is not None
    record(first, c1, p1, at=T0)  # flushed, not committed: the state row is still invisible to others

    outcome: dict[str, Any] = {}

    def second() -> None:
        with committed.Session() as session:
            try:
                c2, p2 = session.get(Contact, contact_id), session.get(Purpose, purpose_id)
                assert c2 is not None and p2 is not None
                event = record(
                    session, c2, p2, action="withdraw", source="one_click", mechanism="one_click",
                    wording_version=None, at=T0 + timedelta(seconds=1),
                )  # fmt: skip
                session.commit()
                outcome["event"] = event.id
            except Exception as exc:  # reported to the main thread
                outcome["error"] = exc

    thread = threading.Thread(target=second)
    thread.start()
    _wait_until_blocked(committed, thread)
    first.commit()
    first.close()
    thread.join()
    assert "error" not in outcome, outcome.get("error")

    with committed.Session() as check:
        state = check.get(ConsentState, (contact_id, purpose_id, "email"))
        assert state is not None
        assert (state.status, state.last_event_id) == ("withdrawn", outcome["event"])
        assert [e.action for e in ledger.history(check, contact_id)] == ["grant", "withdraw"]


def _wait_until_blocked(runtime: Runtime, thread: threading.Thread) -> None:
    """On PostgreSQL, wait until the other transaction is waiting on a lock (SQLite serialises writers)."""
    if runtime.engine.dialect.name != "postgresql":
        return
    with runtime.engine.connect() as conn:
        for _ in range(10_000):
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar()
            if waiting or not thread.is_alive():
                return
            conn.rollback()
            threading.Event().wait(0.005)
