"""Replies to our SMS: opt-out keywords withdraw consent at once, START lifts the block, HELP answers.

- An opt-out keyword (STOP, ARRET…, configurable) withdraws SMS consent for every purpose of that phone,
  whichever of our numbers it was sent to, with the message SID as proof, and suppresses the number (R62).
- A text that contains an opt-out word among others ("stop svp") withdraws or waits for review,
  as SMS_NEAR_MISS_ACTION says (R63).
- START / UNSTOP / YES lift our mirror of the carrier's block but grant nothing: marketing resumes only
  after a consent recorded with its own proof (R65).
- HELP / INFO / CONTACT answer with the organisation's identity and contact (R68).

Everything is written in the caller's unit of work, which commits before Twilio gets its answer (the
answer is the webhook's response: nothing here calls Twilio). The same message SID handled twice changes
nothing the second time (Twilio retries webhooks), even when both arrive at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sender.addresses import AddressError, address_hash, normalize_phone
from sender.config import Settings
from sender.db import utcnow
from sender.enums import Channel, ConsentAction, ConsentSource, ContactStatus, SuppressionReason
from sender.i18n import N_
from sender.models import Contact, InboundSms, Purpose, Suppression
from sender.services.accounts import organisation
from sender.services.audience.contacts import suppress
from sender.services.consent import ledger
from sender.services.errors import Conflict, NotFound, ValidationFailed
from sender.services.records import audit

OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO", "CONTACT", "AIDE"})
# Words that mean "stop" even inside a sentence (R63); CANCEL or END alone in a sentence do not.
NEAR_MISS_WORDS = frozenset(
    {"STOP", "STOPALL", "ARRET", "ARRETE", "ARRETER", "DESABONNER", "DESINSCRIRE", "UNSUBSCRIBE", "OPTOUT"}
)
# Suppressions that mirror the carrier's block: START lifts them; erasure and bounces stay.
CARRIER_BLOCK_REASONS = (SuppressionReason.SMS_STOP, SuppressionReason.CARRIER_OPT_OUT)
ACTOR = "sms_keyword"
REVIEW_DECISIONS = ("withdraw", "dismiss")


@dataclass(frozen=True)
class Classified:
    """What a reply is taken for, and the keyword that decided it."""

    kind: str  # opt_out, near_miss, opt_in, help, other
    keyword: str | None = None


@dataclass(frozen=True)
class ReplyOutcome:
    """What was done with a reply, and the text to answer with (None: no answer)."""

    kind: str
    action: str
    answer: str | None
    duplicate: bool = False


def _fold(text: str) -> str:
    """Upper case without accents, so ARRÊT, arrêt and ARRET are one keyword."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def classify(body: str, opt_out_keywords: tuple[str, ...]) -> Classified:
    """Classify a reply: single-word keywords, or an opt-out word inside a longer text."""
    words = re.findall(r"[A-Z0-9]+", _fold(body))
    opt_out = {re.sub(r"[^A-Z0-9]", "", _fold(k)) for k in opt_out_keywords}
    if len(words) == 1:
        word = words[0]
        if word in opt_out:
            return Classified("opt_out", word)
        if word in OPT_IN_KEYWORDS:
            return Classified("opt_in", word)
        if word in HELP_KEYWORDS:
            return Classified("help", word)
    for word in words:
        if word in NEAR_MISS_WORDS:
            return Classified("near_miss", word)
    return Classified("other")


def help_text(settings: Settings) -> str:
    """Who we are and how to reach us, then how to stop (R68)."""
    identity = ", ".join(p for p in (settings.org_name, settings.org_address) if p)
    contact = f"Contact : {settings.org_contact_email}" if settings.org_contact_email else ""
    return " ".join(p for p in (f"{identity}." if identity else "", contact, settings.sms.stop_text) if p)


def stop_text(settings: Settings) -> str:
    """The confirmation of an opt-out (R68: the person is told it is taken into account)."""
    name = settings.sms.sender_name
    prefix = f"{name} : " if name else ""
    return f"{prefix}votre demande est prise en compte, vous ne recevrez plus de SMS de notre part."


def _withdraw(
    session: Session, contact: Contact | None, digest: str, sid: str, note: str, actor: str = ACTOR
) -> None:
    """Withdraw SMS consent for every purpose and suppress the number, whichever contact holds it."""
    evidence = {"request_id": sid, "note": note}
    if contact is not None and contact.status != ContactStatus.ERASED:
        for purpose in session.scalars(select(Purpose).order_by(Purpose.id)):
            ledger.record(
                session,
                contact,
                purpose,
                channel=Channel.SMS,
                action=ConsentAction.WITHDRAW,
                source=ConsentSource.SMS_KEYWORD,
                mechanism="sms_keyword",
                actor=actor,
                evidence=evidence,
            )
    # The number itself is blocked too: a later import cannot bring it back (R11, R62).
    suppress(session, digest, Channel.SMS, SuppressionReason.SMS_STOP)


def handle_reply(
    session: Session, settings: Settings, *, message_sid: str, sender: str, to: str, body: str
) -> ReplyOutcome:
    """Apply one incoming SMS; the caller commits."""
    try:
        with session.begin_nested():
            return _apply(session, settings, message_sid=message_sid, sender=sender, to=to, body=body)
    except IntegrityError:
        # A concurrent request wrote Twilio's retry of this very message (or another reply from the number)
        # meanwhile: only this reply's writes are undone, and applied again it answers as that one did.
        return _apply(session, settings, message_sid=message_sid, sender=sender, to=to, body=body)


def _apply(
    session: Session, settings: Settings, *, message_sid: str, sender: str, to: str, body: str
) -> ReplyOutcome:
    known = session.scalar(select(InboundSms).where(InboundSms.message_sid == message_sid))
    if known is not None:
        return ReplyOutcome(
            known.kind, known.action, _answer(settings, known.kind, known.action), duplicate=True
        )
    try:
        phone = normalize_phone(sender, settings.default_phone_region)
    except AddressError:
        phone = sender.strip()
    digest = address_hash(settings.hash_key, phone)
    contact = session.scalar(select(Contact).where(Contact.phone_hash == digest))
    found = classify(body, settings.sms.opt_out_keywords)
    action, kept_body = "none", None
    if found.kind == "opt_out" or (found.kind == "near_miss" and settings.sms.near_miss_action == "withdraw"):
        _withdraw(session, contact, digest, message_sid, f"reply to {to}")
        action = "withdrawn"
    elif found.kind == "near_miss":
        # A person decides: the text is kept for them to read, and nothing changes meanwhile.
        action, kept_body = "flagged", body[:1600]
    elif found.kind == "opt_in":
        session.execute(
            delete(Suppression).where(
                Suppression.address_hash == digest,
                Suppression.channel == Channel.SMS,
                Suppression.reason.in_(CARRIER_BLOCK_REASONS),
            )
        )
        action = "unblocked"
    elif found.kind == "help":
        action = "answered"
    row = InboundSms(
        message_sid=message_sid,
        phone_hash=digest,
        contact_id=contact.id if contact else None,
        kind=found.kind,
        action=action,
        keyword=found.keyword,
        body=kept_body,
    )
    session.add(row)
    session.flush()
    if action != "none":
        audit.record(session, ACTOR, f"sms.reply.{action}", "inbound_sms", row.id, {"keyword": found.keyword})
    return ReplyOutcome(
        found.kind, action, _answer(organisation.effective_settings(session, settings), found.kind, action)
    )


def _answer(settings: Settings, kind: str, action: str) -> str | None:
    if action == "withdrawn":
        return stop_text(settings)
    if kind == "help":
        return help_text(settings)
    return None


def replies(
    session: Session, *, action: str | None = None, contact_id: int | None = None, limit: int = 200
) -> list[InboundSms]:
    """Incoming SMS, newest first, optionally only those with an action (e.g. `flagged`) or of one contact."""
    stmt = select(InboundSms).order_by(InboundSms.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(InboundSms.action == action)
    if contact_id is not None:
        stmt = stmt.where(InboundSms.contact_id == contact_id)
    return list(session.scalars(stmt))


def review(session: Session, reply_id: int, decision: str, actor: str) -> InboundSms:
    """A person decides on a reply flagged for review: `withdraw` as for STOP, or `dismiss`; the caller commits."""
    if decision not in REVIEW_DECISIONS:
        raise ValidationFailed(
            {"decision": N_("must be one of %(choices)s", choices=", ".join(REVIEW_DECISIONS))}
        )
    row = session.get(InboundSms, reply_id, with_for_update=True)
    if row is None:
        raise NotFound(N_("no such reply"))
    if row.action != "flagged":
        raise Conflict(N_("this reply is %(action)s, not waiting for review", action=row.action))
    if decision == "withdraw":
        contact = session.get(Contact, row.contact_id) if row.contact_id is not None else None
        _withdraw(session, contact, row.phone_hash, row.message_sid, "reviewed reply", actor=actor)
        row.action = "withdrawn"
    else:
        row.action = "dismissed"
    # Once decided, the text is no longer needed: keep the decision, not the words.
    row.body, row.reviewed_at = None, utcnow()
    audit.record(session, actor, f"sms.reply.{row.action}", "inbound_sms", row.id, {"keyword": row.keyword})
    return row
