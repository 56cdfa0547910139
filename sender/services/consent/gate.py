"""The consent gate: the single rule deciding whether a contact may be messaged for a purpose on a channel.

The rule is written once, as a SQL CASE expression, so that planning can filter a whole audience in one
query and the worker can re-check inside the statement that claims a delivery. `check()` evaluates the
same expression for one contact.

A second rule, "may be asked", serves requalification (R49, R50): a legacy contact has no valid consent,
so the consent rule would refuse everyone; the request for consent may go to a contact who is active, has
an address, is not suppressed, and has not withdrawn or objected for the purpose. A third, "must be told",
serves legal notices (the Art. 34 communication of a breach): no consent is asked (see
`notice_reason_expression`). Campaigns name their rule with `rule_for(kind)`; planning and the worker's
claim use the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, case, exists, literal, or_, select
from sqlalchemy.orm import Session, aliased

from sender.channels.base import Channel as ChannelKind
from sender.channels.base import get_channel
from sender.db import utcnow
from sender.enums import CampaignKind, Channel, ConsentStatus, ContactStatus, SkipReason, SuppressionReason
from sender.models import ConsentState, Contact, Suppression
from sender.services.consent.expiry import lapsed_clause

# In the order the gate tests them: the first that applies is the reason given.
REASONS = tuple(SkipReason)


# The refusals of the "may be asked" rule, in the order it tests them.
ASK_REASONS = (
    SkipReason.ERASED,
    SkipReason.RESTRICTED,
    SkipReason.NO_ADDRESS,
    SkipReason.SUPPRESSED,
    SkipReason.WITHDRAWN,
)
# The refusals of the "must be told" rule (legal notices), in the order it tests them.
NOTICE_REASONS = (
    SkipReason.ERASED,
    SkipReason.PENDING_CONFIRMATION,
    SkipReason.RESTRICTED,
    SkipReason.NO_ADDRESS,
    SkipReason.SUPPRESSED,
)
# Suppressions that say an address cannot be reached, not that its owner refused marketing.
UNREACHABLE = (SuppressionReason.HARD_BOUNCE, SuppressionReason.SOFT_BOUNCE, SuppressionReason.INVALID_NUMBER)
RULES = ("consent", "ask", "notice")
_RULE_OF_KIND: dict[str | None, str] = {
    CampaignKind.REQUALIFICATION: "ask",
    CampaignKind.LEGAL_NOTICE: "notice",
}


def rule_for(kind: str | None) -> str:
    """The gate rule a campaign of this kind is planned and claimed under."""
    # Members hash as their strings; a campaign not yet flushed has no kind and is marketing.
    return _RULE_OF_KIND.get(kind, "consent")


@dataclass(frozen=True)
class Eligibility:
    """The gate's answer: eligible, or the reason why not."""

    eligible: bool
    reason: str | None


def state_alias() -> type[ConsentState]:
    """A fresh alias of consent_states for outer-joining in a gated query."""
    return aliased(ConsentState)


def state_join(state: type[ConsentState], purpose_id: int, channel: ChannelKind) -> ColumnElement[bool]:
    """ON clause joining a contact to its consent state for one purpose and channel."""
    return and_(
        state.contact_id == Contact.id,
        state.purpose_id == purpose_id,
        state.channel == channel.name,
    )


def _known(name: str) -> None:
    """Refuse a channel the CHECK constraints of consent_states and suppressions would not accept."""
    if name not in tuple(Channel):
        raise ValueError(f"unknown channel {name!r}; expected one of {', '.join(Channel)}")


def _refusal(reason: SkipReason) -> ColumnElement[str]:
    # The plain string, not the member: a literal of a str type keeps the CASE typed as text everywhere.
    return literal(reason.value)


def _suppressed(channel: ChannelKind, reasons: tuple[str, ...] = ()) -> ColumnElement[bool]:
    """The contact's address on this channel is on the suppression list (matched by its keyed hash), for
    one of `reasons` when given."""
    _, address_hash = channel.address.columns()
    found = exists().where(Suppression.address_hash == address_hash, Suppression.channel == channel.name)
    return found.where(Suppression.reason.in_(reasons)) if reasons else found


def reason_expression(
    state: type[ConsentState], channel: ChannelKind, at: datetime
) -> ColumnElement[str | None]:
    """SQL giving NULL when eligible, else the refusal reason; needs `state` outer-joined via state_join."""
    _known(channel.name)
    # The channel says which columns hold its address and that address's keyed hash.
    address, address_hash = channel.address.columns()
    # Default deny: each test names what passes (active, hashed address, granted), so a value nobody
    # expected (a new contact status, a state row written by hand) refuses instead of slipping through.
    return case(
        (Contact.status == ContactStatus.ERASED, _refusal(SkipReason.ERASED)),
        # A sign-up nobody confirmed yet (R53): not targetable by anything.
        (Contact.status == ContactStatus.PENDING, _refusal(SkipReason.PENDING_CONFIRMATION)),
        (Contact.status != ContactStatus.ACTIVE, _refusal(SkipReason.RESTRICTED)),
        # Without its keyed hash the suppression list cannot be consulted: the address is unusable.
        (or_(address.is_(None), address_hash.is_(None)), _refusal(SkipReason.NO_ADDRESS)),
        (_suppressed(channel), _refusal(SkipReason.SUPPRESSED)),
        (state.status.is_(None), _refusal(SkipReason.NO_CONSENT)),
        (state.status == ConsentStatus.PENDING, _refusal(SkipReason.PENDING_CONFIRMATION)),
        (state.status == ConsentStatus.WITHDRAWN, _refusal(SkipReason.WITHDRAWN)),
        (state.status != ConsentStatus.GRANTED, _refusal(SkipReason.NO_CONSENT)),
        (lapsed_clause(state.expires_at, at), _refusal(SkipReason.EXPIRED)),
        else_=literal(None),
    )


def ask_reason_expression(state: type[ConsentState], channel: ChannelKind) -> ColumnElement[str | None]:
    """The "may be asked" rule: NULL when a request for consent may be sent, else the refusal reason."""
    _known(channel.name)
    address, address_hash = channel.address.columns()
    return case(
        (Contact.status == ContactStatus.ERASED, _refusal(SkipReason.ERASED)),
        # Archived (restricted) contacts and unconfirmed sign-ups are reached by no campaign.
        (Contact.status != ContactStatus.ACTIVE, _refusal(SkipReason.RESTRICTED)),
        (or_(address.is_(None), address_hash.is_(None)), _refusal(SkipReason.NO_ADDRESS)),
        (_suppressed(channel), _refusal(SkipReason.SUPPRESSED)),
        # A withdrawal or an objection for the purpose is an answer already: never asked again (R50).
        (state.status == ConsentStatus.WITHDRAWN, _refusal(SkipReason.WITHDRAWN)),
        else_=literal(None),
    )


def notice_reason_expression(channel: ChannelKind) -> ColumnElement[str | None]:
    """The "must be told" rule of a legal notice: NULL when it may go, else the refusal reason.

    A communication to the people affected by a breach is required by Art. 34(1) GDPR: it is not direct
    marketing, so it rests on the legal obligation (Art. 6(1)(c)), not on consent. Withdrawals, objections
    and the suppression list record refusals of marketing (Art. 21(2)-(3)) and of consent-based processing
    (Art. 7(3)); they do not lift an obligation the controller owes the person, so they do not apply here.
    Restricted contacts are told too: Art. 18(2) restricts processing, yet telling someone that their own
    data was breached protects their rights, and Art. 34 names no exception for them. Erased contacts have
    no address left and must never be processed again; unconfirmed sign-ups never became contacts.
    """
    _known(channel.name)
    address, address_hash = channel.address.columns()
    return case(
        (Contact.status == ContactStatus.ERASED, _refusal(SkipReason.ERASED)),
        (Contact.status == ContactStatus.PENDING, _refusal(SkipReason.PENDING_CONFIRMATION)),
        # Default deny: only the two statuses named here pass.
        (
            Contact.status.not_in((ContactStatus.ACTIVE, ContactStatus.RESTRICTED)),
            _refusal(SkipReason.RESTRICTED),
        ),
        (or_(address.is_(None), address_hash.is_(None)), _refusal(SkipReason.NO_ADDRESS)),
        # An address known to bounce is not told again; refusals of marketing are no reason to skip.
        (_suppressed(channel, UNREACHABLE), _refusal(SkipReason.SUPPRESSED)),
        else_=literal(None),
    )


def gated_audience(
    purpose_id: int, channel: ChannelKind, at: datetime, rule: str = "consent"
) -> tuple[Select[int, str | None], ColumnElement[str | None]]:
    """SELECT contact id and refusal reason over all contacts under a rule; callers add their own WHERE.

    The caller resolves the channel once (channels.base.get_channel) and hands it down: the gate asks it
    which columns hold the address, and never looks channels up by name itself."""
    if rule not in RULES:
        raise ValueError(f"unknown gate rule {rule!r}; expected one of {', '.join(RULES)}")
    state = state_alias()
    if rule == "consent":
        expression = reason_expression(state, channel, at)
    elif rule == "ask":
        expression = ask_reason_expression(state, channel)
    else:
        expression = notice_reason_expression(channel)
    reason = expression.label("reason")
    stmt = (
        select(Contact.id, reason)
        .select_from(Contact)
        .outerjoin(state, state_join(state, purpose_id, channel))
    )
    return stmt, reason


def check(
    session: Session,
    contact_id: int,
    purpose_id: int,
    channel: str,
    at: datetime | None = None,
    rule: str = "consent",
) -> Eligibility:
    """Answer the gate (or the "may be asked" rule) for one contact, purpose and channel at a moment."""
    _known(channel)
    stmt, _ = gated_audience(purpose_id, get_channel(channel), at or utcnow(), rule)
    row = session.execute(stmt.where(Contact.id == contact_id)).one_or_none()
    if row is None:
        return Eligibility(False, SkipReason.ERASED)
    reason = row.reason
    return Eligibility(reason is None, reason)
