"""The consent gate, one refusal reason at a time, plus purpose and channel specificity (R1, R13)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.channels.base import get_channel
from sender.db import utcnow
from sender.models import ConsentState, Contact, Purpose, Suppression
from sender.services.consent import gate, ledger
from tests.factories import TEST_HASH_KEY, ContactFactory, PurposeFactory, WordingFactory

T0 = datetime(2024, 3, 1, 12, 0, 0)


def make_purpose(**kwargs: Any) -> Purpose:
    """A purpose with wording version 1."""
    purpose = cast(Purpose, PurposeFactory(**kwargs))
    WordingFactory(purpose=purpose, version=1)
    return purpose


def make_contact(phone: str | None = None, **kwargs: Any) -> Contact:
    """An active contact with an email and, optionally, a phone (with its keyed hash)."""
    phone_hash = address_hash(TEST_HASH_KEY, phone) if phone else None
    return cast(Contact, ContactFactory(phone=phone, phone_hash=phone_hash, **kwargs))


def grant(
    session: Session, contact: Contact, purpose: Purpose, channel: str = "email", **kwargs: Any
) -> None:
    """Record an affirmative grant through the ledger."""
    params: dict[str, Any] = {
        "source": "form",
        "mechanism": "checkbox",
        "actor": "test",
        "wording_version": 1,
    }
    params.update(kwargs)
    ledger.record(session, contact, purpose, channel=channel, action="grant", **params)


def withdraw(
    session: Session, contact: Contact, purpose: Purpose, channel: str = "email", **kwargs: Any
) -> None:
    """Record a withdrawal through the ledger."""
    params: dict[str, Any] = {"source": "one_click", "mechanism": "one_click", "actor": "test"}
    params.update(kwargs)
    ledger.record(session, contact, purpose, channel=channel, action="withdraw", **params)


def reason(
    session: Session, contact: Contact, purpose: Purpose, channel: str = "email", **kw: Any
) -> str | None:
    """The gate's refusal reason (None when eligible), after checking the answer is self-consistent."""
    answer = gate.check(session, contact.id, purpose.id, channel, **kw)
    assert answer.eligible is (answer.reason is None)
    return answer.reason


def audience(
    session: Session, purpose: Purpose, channel: str, at: datetime | None = None
) -> dict[int, str | None]:
    """The set form: every contact with its reason, as planning sees it."""
    stmt, _ = gate.gated_audience(purpose.id, get_channel(channel), at or utcnow())
    return {row.id: row.reason for row in session.execute(stmt)}


def test_granted_contact_is_eligible_in_both_forms(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    assert gate.check(db_session, contact.id, purpose.id, "email") == gate.Eligibility(True, None)
    assert audience(db_session, purpose, "email")[contact.id] is None


def test_erased(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    contact.status, contact.email = "erased", None
    db_session.flush()
    assert reason(db_session, contact, purpose) == "erased"
    assert audience(db_session, purpose, "email")[contact.id] == "erased"


def test_unknown_contact_is_refused(db_session: Session) -> None:
    purpose = make_purpose()
    assert gate.check(db_session, 987654, purpose.id, "email") == gate.Eligibility(False, "erased")


def test_restricted(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    contact.status = "restricted"
    db_session.flush()
    assert reason(db_session, contact, purpose) == "restricted"


@contextmanager
def _schema_check_lifted(session: Session, table: str, column: str) -> Iterator[None]:
    """Let the schema refuse a value first, then let it in anyway: the gate must still deny (defence in depth)."""
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))  # noqa: S608 (test names only)
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
        try:
            yield
        finally:
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    else:
        # Rolled back with the test's transaction, like every change a test makes.
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT ck_{table}_{column}")
        yield


def test_any_status_other_than_active_is_refused(db_session: Session) -> None:
    # Default deny: a status the gate does not know (a typo, a future state) must not pass.
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    with _schema_check_lifted(db_session, "contacts", "status"):
        contact.status = "Active"
        db_session.flush()
        assert reason(db_session, contact, purpose) == "restricted"


def test_no_address(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()  # email only
    grant(db_session, contact, purpose, channel="sms")
    assert reason(db_session, contact, purpose, "sms") == "no_address"


def test_address_without_keyed_hash_is_refused(db_session: Session) -> None:
    # Without its hash the suppression list cannot be checked, so the address is not usable.
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    contact.email_hash = None
    db_session.flush()
    assert reason(db_session, contact, purpose) == "no_address"


def test_suppressed(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact(phone="+33612345678")
    grant(db_session, contact, purpose, channel="email")
    grant(db_session, contact, purpose, channel="sms")
    db_session.add(Suppression(address_hash=contact.email_hash, channel="email", reason="hard_bounce"))
    db_session.flush()
    assert reason(db_session, contact, purpose, "email") == "suppressed"
    # A suppression is per channel: the phone is still fine.
    assert reason(db_session, contact, purpose, "sms") is None


def test_suppression_of_the_email_hash_on_sms_does_not_match_the_phone(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact(phone="+33612345678")
    grant(db_session, contact, purpose, channel="email")
    db_session.add(Suppression(address_hash=contact.email_hash, channel="sms", reason="complaint"))
    db_session.flush()
    assert reason(db_session, contact, purpose, "email") is None


def test_no_consent(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    assert reason(db_session, contact, purpose) == "no_consent"


def test_pending_confirmation(db_session: Session) -> None:
    purpose = make_purpose(requires_double_opt_in=True)
    contact = make_contact()
    grant(db_session, contact, purpose)
    assert reason(db_session, contact, purpose) == "pending_confirmation"
    grant(db_session, contact, purpose, source="double_opt_in", mechanism="double_opt_in")
    assert reason(db_session, contact, purpose) is None


def test_withdrawn(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    withdraw(db_session, contact, purpose)
    assert reason(db_session, contact, purpose) == "withdrawn"
    assert audience(db_session, purpose, "email")[contact.id] == "withdrawn"


def test_expired_at_the_exact_expiry_moment(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=30)
    contact = make_contact()
    grant(db_session, contact, purpose, at=T0)
    expiry = T0 + timedelta(days=30)
    assert reason(db_session, contact, purpose, at=expiry - timedelta(seconds=1)) is None
    assert reason(db_session, contact, purpose, at=expiry) == "expired"
    assert audience(db_session, purpose, "email", at=expiry)[contact.id] == "expired"


def test_consent_without_validity_never_expires(db_session: Session) -> None:
    purpose = make_purpose(consent_validity_days=None)
    contact = make_contact()
    grant(db_session, contact, purpose, at=T0)
    assert reason(db_session, contact, purpose, at=T0 + timedelta(days=365 * 30)) is None


def test_unknown_state_status_is_refused(db_session: Session) -> None:
    # Only an explicit grant lets a message through; anything else in the state row is no consent.
    purpose = make_purpose()
    contact = make_contact()
    grant(db_session, contact, purpose)
    state = db_session.get(ConsentState, (contact.id, purpose.id, "email"))
    assert state is not None
    with _schema_check_lifted(db_session, "consent_states", "status"):
        state.status = "maybe"
        db_session.flush()
        assert reason(db_session, contact, purpose) == "no_consent"


def test_reasons_follow_gate_priority(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    withdraw(db_session, contact, purpose)
    db_session.add(Suppression(address_hash=contact.email_hash, channel="email", reason="unsubscribe"))
    contact.status = "restricted"
    db_session.flush()
    assert reason(db_session, contact, purpose) == "restricted"
    contact.status = "active"
    db_session.flush()
    assert reason(db_session, contact, purpose) == "suppressed"


def test_email_consent_for_one_purpose_covers_nothing_else_r1(db_session: Session) -> None:
    newsletter = make_purpose(slug="newsletter")
    partners = make_purpose(slug="partner_offers")
    contact = make_contact(phone="+33612345678")
    grant(db_session, contact, newsletter, channel="email")
    assert reason(db_session, contact, newsletter, "email") is None
    assert reason(db_session, contact, newsletter, "sms") == "no_consent"
    assert reason(db_session, contact, partners, "email") == "no_consent"
    assert audience(db_session, newsletter, "sms")[contact.id] == "no_consent"
    assert audience(db_session, partners, "email")[contact.id] == "no_consent"


def test_campaign_purpose_excludes_other_purposes_consent_r13(db_session: Session) -> None:
    newsletter = make_purpose(slug="newsletter")
    events = make_purpose(slug="events")
    only_newsletter = make_contact()
    both = make_contact()
    grant(db_session, only_newsletter, newsletter)
    grant(db_session, both, newsletter)
    grant(db_session, both, events)
    eligible = {cid for cid, why in audience(db_session, events, "email").items() if why is None}
    assert eligible == {both.id}


def test_withdrawal_on_one_channel_leaves_the_other(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact(phone="+33612345678")
    grant(db_session, contact, purpose, channel="email")
    grant(db_session, contact, purpose, channel="sms")
    withdraw(db_session, contact, purpose, channel="sms", source="sms_keyword", mechanism="sms_keyword")
    assert reason(db_session, contact, purpose, "sms") == "withdrawn"
    assert reason(db_session, contact, purpose, "email") is None


def test_backdated_grant_does_not_undo_a_later_withdrawal(db_session: Session) -> None:
    # An old CSV carrying a 2023 consent date must not revive someone who withdrew in 2024.
    purpose = make_purpose(consent_validity_days=None)
    contact = make_contact()
    grant(db_session, contact, purpose, at=T0)
    withdraw(db_session, contact, purpose, at=T0 + timedelta(days=10))
    grant(db_session, contact, purpose, source="import", at=T0 - timedelta(days=300))
    assert reason(db_session, contact, purpose, at=T0 + timedelta(days=20)) == "withdrawn"


def test_withdrawal_wins_over_a_grant_dated_after_it(db_session: Session) -> None:
    # A grant stamped in the future (clock skew, a bad import) must not swallow a real withdrawal.
    purpose = make_purpose(consent_validity_days=None)
    contact = make_contact()
    grant(db_session, contact, purpose, at=T0 + timedelta(days=5))
    withdraw(db_session, contact, purpose, at=T0)
    assert reason(db_session, contact, purpose, at=T0 + timedelta(days=6)) == "withdrawn"
    # A later, real grant counts again.
    grant(db_session, contact, purpose, at=T0 + timedelta(days=7))
    assert reason(db_session, contact, purpose, at=T0 + timedelta(days=8)) is None


def test_unknown_channel_is_an_error(db_session: Session) -> None:
    purpose = make_purpose()
    contact = make_contact()
    with pytest.raises(ValueError, match="channel"):
        gate.check(db_session, contact.id, purpose.id, "fax")


def test_a_purpose_created_with_no_validity_never_expires(db_session: Session) -> None:
    purpose = PurposeFactory(consent_validity_days=None)
    db_session.expire(purpose)
    assert purpose.consent_validity_days is None
