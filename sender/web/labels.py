"""Every stored code as people read it: one label per value of each code set, shown through the `label` filter.

A code set is an enum of `sender.enums` or one of the value tuples the models keep beside their CHECK
constraints. Templates never print a raw code: `{{ c.status|label("ContactStatus") }}` (a `StrEnum`
member needs no set name). The English labels are catalogue texts, translated where they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from flask import Flask
from flask_babel import gettext, lazy_gettext
from flask_babel.speaklater import LazyString

from sender import enums
from sender.channels.base import channels
from sender.i18n import N_, Reason
from sender.models.imports import IMPORT_STATUSES, ROW_OUTCOMES
from sender.models.requalification import ASK_STATUSES, SILENCE_POLICIES
from sender.models.rights import REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_STATUSES
from sender.models.sms import INBOUND_ACTIONS, INBOUND_KINDS
from sender.services.audience.import_provenance import IMPORT_LEGAL_BASES
from sender.services.consent.ledger import GRANT_MECHANISMS, WITHDRAW_MECHANISMS

# Code sets the models keep as tuples (no enum yet), by the name templates give the filter.
MODEL_CODES: dict[str, tuple[str, ...]] = {
    # Purposes take the first four; an import may also say "unknown" (its contacts become legacy).
    "LegalBasis": IMPORT_LEGAL_BASES,
    "ImportStatus": IMPORT_STATUSES,
    "RowOutcome": ROW_OUTCOMES,
    "AskStatus": ASK_STATUSES,
    "SilencePolicy": SILENCE_POLICIES,
    "RequestKind": REQUEST_KINDS,
    "RequestChannel": REQUEST_CHANNELS,
    "RequestStatus": REQUEST_STATUSES,
    "InboundKind": INBOUND_KINDS,
    "InboundAction": INBOUND_ACTIONS,
    "Mechanism": tuple(sorted(GRANT_MECHANISMS | WITHDRAW_MECHANISMS)),
}

# The English label of each code, by set. Channels are missing here: their label is the channel's own.
LABELS: dict[str, dict[str, str]] = {
    "SequenceStatus": {"draft": N_("Draft"), "active": N_("Active"), "paused": N_("Paused")},
    "SequenceTrigger": {
        "consent": N_("Consent granted"),
        "list": N_("Added to a list"),
        "segment": N_("Entering a segment"),
        "date": N_("A date field"),
    },
    "DelayUnit": {"hours": N_("hours"), "days": N_("days")},
    "EnrolmentStatus": {
        "active": N_("In the sequence"),
        "completed": N_("Completed"),
        "exited": N_("Exited"),
    },
    "ExitReason": {
        "withdrawn": N_("Withdrew consent"),
        "erased": N_("Erased"),
        "refused": N_("Refused by the gate"),
    },
    "ContactStatus": {
        "active": N_("Active"),
        "restricted": N_("Processing restricted"),
        "erased": N_("Erased"),
        "pending": N_("Awaiting confirmation"),
    },
    "CampaignStatus": {
        "draft": N_("Draft"),
        "scheduled": N_("Scheduled"),
        "sending": N_("Sending"),
        "sent": N_("Sent"),
        "paused": N_("Paused"),
        "cancelled": N_("Cancelled"),
    },
    "CampaignKind": {
        "marketing": N_("Marketing"),
        "legal_notice": N_("Legal notice"),
        "requalification": N_("Requalification"),
        "sequence": N_("Sequence step"),
    },
    "BodyFormat": {
        "richtext": N_("Rich text"),
        "markdown": N_("Markdown"),
        "html": N_("HTML"),
        "mjml": N_("MJML (responsive layout)"),
    },
    "DeliveryStatus": {
        "queued": N_("Queued"),
        "sending": N_("Sending"),
        "sent": N_("Message sent"),
        "failed": N_("Failed"),
        "skipped": N_("Skipped"),
        "unknown": N_("Outcome unknown"),
        "cancelled": N_("Message cancelled"),
        "deferred": N_("Deferred"),
        "bounced": N_("Bounced"),
    },
    "ConsentAction": {
        "grant": N_("Consent given"),
        "withdraw": N_("Consent withdrawn"),
        "request": N_("Consent awaiting confirmation"),
    },
    "ConsentStatus": {
        "granted": N_("Consent granted"),
        "pending": N_("Awaiting confirmation"),
        "withdrawn": N_("Consent withdrawn"),
        # A segment may ask for people with no consent event at all.
        "none": N_("No consent recorded"),
    },
    "ConsentSource": {
        "api": N_("API"),
        "form": N_("Form"),
        "import": N_("Import"),
        "admin": N_("Staff page"),
        "double_opt_in": N_("Confirmation link (double opt-in)"),
        "requalification": N_("Requalification"),
        "portal": N_("Privacy portal"),
        "sms_keyword": N_("SMS keyword"),
        "one_click": N_("One-click unsubscribe"),
        "unsubscribe_page": N_("Unsubscribe page"),
        "complaint": N_("Spam complaint"),
    },
    "SkipReason": {
        "erased": N_("Erased"),
        "restricted": N_("Processing restricted"),
        "no_address": N_("No address for this channel"),
        "suppressed": N_("On the suppression list"),
        "no_consent": N_("No consent"),
        "pending_confirmation": N_("Consent awaiting confirmation"),
        "withdrawn": N_("Consent withdrawn"),
        "expired": N_("Consent expired"),
    },
    "DeliveryReason": {
        "render_failed": N_("The message could not be rendered"),
        "invalid_address": N_("Invalid address"),
        "rejected": N_("Rejected by the provider"),
        "opted_out": N_("The person opted out"),
        "outcome_unknown": N_("Outcome unknown (never sent again)"),
        "not_sent": N_("Not sent"),
        "quiet_hours": N_("Held during quiet hours"),
        "ab_test": N_("Waiting for the A/B test's winner"),
        "campaign_cancelled": N_("Campaign cancelled"),
        "deadline_passed": N_("Deadline passed"),
        "temporary_failure": N_("Temporary failures until the attempts ran out"),
    },
    "SuppressionReason": {
        "erasure": N_("Erasure"),
        "objection": N_("Objection"),
        "sms_stop": N_("STOP by SMS"),
        "carrier_opt_out": N_("Opted out with the carrier"),
        "hard_bounce": N_("Address does not exist (hard bounce)"),
        "invalid_number": N_("Invalid number"),
        "soft_bounce": N_("Repeated temporary failures (soft bounces)"),
        "complaint": N_("Spam complaint"),
    },
    "FeedbackKind": {
        "hard_bounce": N_("Hard bounce"),
        "soft_bounce": N_("Soft bounce"),
        "complaint": N_("Spam complaint"),
    },
    "BreakerTrip": {
        "complaints": N_("Spam complaint rate reached its pause threshold"),
        "hard_bounces": N_("Hard bounce rate reached its pause threshold"),
    },
    "Role": {
        "admin": N_("Administrator"),
        "marketer": N_("Marketer"),
        "dpo": N_("Data protection officer"),
    },
    "LegalBasis": {
        "consent": N_("Consent"),
        "legitimate_interest": N_("Legitimate interest"),
        "contract": N_("Contract"),
        "legal_obligation": N_("Legal obligation"),
        "unknown": N_("Unknown (imported as legacy)"),
    },
    "ImportStatus": {
        "pending": N_("Waiting to start"),
        "analysing": N_("Dry run in progress"),
        "analysed": N_("Dry run ready"),
        "committing": N_("Importing"),
        "committed": N_("Imported"),
        "failed": N_("Failed"),
    },
    "RowOutcome": {
        "accepted": N_("Row accepted"),
        "merged": N_("Row merged into an existing contact"),
        "refused": N_("Row refused"),
    },
    "AskStatus": {
        "asked": N_("Asked, no answer yet"),
        "confirmed": N_("Consent confirmed"),
        "declined": N_("Said no"),
        "erased": N_("Erased"),
        "archived": N_("Archived"),
        "excluded": N_("Left out of the cycle"),
    },
    "SilencePolicy": {"erase": N_("Erase"), "archive": N_("Archive")},
    "RequestKind": {
        "access": N_("Access"),
        "rectification": N_("Rectification"),
        "erasure": N_("Erasure"),
        "restriction": N_("Restriction"),
        "portability": N_("Portability"),
        "objection": N_("Objection"),
    },
    "RequestChannel": {
        "portal": N_("Privacy portal"),
        "email": N_("Email"),
        "post": N_("Post"),
        "phone": N_("Phone"),
        "in_person": N_("In person"),
    },
    "RequestStatus": {"open": N_("Open"), "completed": N_("Completed"), "refused": N_("Request refused")},
    "InboundKind": {
        "opt_out": N_("Opt-out (STOP)"),
        "near_miss": N_("Looks like an opt-out"),
        "opt_in": N_("Opt-in (START)"),
        "help": N_("Help request"),
        "other": N_("Other"),
    },
    "InboundAction": {
        "withdrawn": N_("Consent withdrawn"),
        "flagged": N_("Flagged for review"),
        "dismissed": N_("Dismissed"),
        "unblocked": N_("Unblocked"),
        "answered": N_("Answered"),
        "none": N_("None"),
    },
    "WithdrawalKind": {
        "opt_out": N_("Opt-out"),
        "objection": N_("Objection"),
        "complaint": N_("Complaint"),
        "stop": N_("STOP by SMS"),
    },
    "AfterWithdrawal": {
        "in_flight": N_("Already with the relay"),
        "exception": N_("Exception: sent after the withdrawal"),
    },
    "TransferMechanism": {
        "eea": N_("Inside the EEA (no transfer)"),
        "adequacy": N_("Adequacy decision"),
        "dpf": N_("EU-US Data Privacy Framework"),
        "scc": N_("Standard contractual clauses"),
        "bcr": N_("Binding corporate rules"),
        "none": N_("None documented"),
    },
    "DpiaReason": {
        "profiling": N_("Profiling"),
        "external_data": N_("Data from external sources"),
        "large_scale_tracking": N_("Large-scale tracking"),
    },
    "DpiaOutcome": {
        "acceptable": N_("Acceptable risk"),
        "acceptable_with_measures": N_("Acceptable with measures"),
        "prior_consultation": N_("Prior consultation of the authority needed"),
    },
    "CheckOutcome": {
        "pass": N_("Pass"),
        "warn": N_("Warning"),
        "fail": N_("Fail"),
        "skipped": N_("Not run"),
    },
    "PurposeKind": {"marketing": N_("Receiving messages"), "tracking": N_("Click and open tracking")},
    "TrackingMode": {
        "off": N_("Off: links go straight to their target"),
        "aggregate": N_("Aggregate: campaign-level counts, no one identified"),
        "per_person": N_("Per person: only for contacts who consented to tracking"),
    },
    "AbDecision": {
        "clicks": N_("Automatically: the most unique clicks when the wait is over"),
        "manual": N_("By a person, on the campaign page"),
    },
    "EngagementKind": {"click": N_("Click"), "open": N_("Message opened")},
    "EngagementClass": {
        "human": N_("Person"),
        "scanner": N_("Security scanner"),
        "machine_open": N_("Machine open (privacy proxy)"),
    },
    "SegmentOperator": {"equals": N_("equals"), "contains": N_("contains"), "empty": N_("is empty")},
    "WebhookEvent": {
        "consent.granted": N_("Consent granted"),
        "consent.withdrawn": N_("Consent withdrawn"),
        "contact.restricted": N_("Contact restricted"),
        "contact.erased": N_("Contact erased"),
        "delivery.bounced": N_("Message bounced"),
        "delivery.complained": N_("Complaint received"),
        "rights_request.created": N_("Rights request opened"),
        "rights_request.closed": N_("Rights request closed"),
        "campaign.finished": N_("Campaign finished"),
        "sequence.step_sent": N_("Sequence step sent"),
    },
    "TransactionalStatus": {
        "queued": N_("Queued"),
        "sent": N_("Sent"),
        "failed": N_("Failed"),
        "skipped": N_("Not sent (the contact may no longer be messaged)"),
        "unknown": N_("Unknown (its worker was lost while sending; never sent again)"),
    },
    "WebhookDeliveryStatus": {
        "pending": N_("Waiting to be delivered"),
        "delivered": N_("Delivered"),
        "failed": N_("Failed for good"),
        "skipped": N_("Not sent (endpoint disabled)"),
    },
    "OutboundError": {
        "not_https": N_("not an https address"),
        "malformed": N_("malformed address"),
        "unresolved": N_("the host name does not resolve"),
        "private_address": N_("refused: the host is not a public address"),
        "timeout": N_("no answer in time"),
        "tls": N_("TLS certificate refused"),
        "connection": N_("connection refused"),
        "no_answer": N_("the connection ended without an answer"),
        "http_status": N_("answered with an error status"),
    },
    "CycleState": {
        "awaiting_approval": N_("cycle awaiting approval"),
        "approved": N_("cycle approved, not started"),
        "open": N_("cycle open"),
        "closed": N_("cycle closed"),
        "cancelled": N_("cycle cancelled"),
    },
    "Mechanism": {
        "checkbox": N_("Ticked box"),
        "double_opt_in": N_("Confirmation link (double opt-in)"),
        "sms_keyword": N_("SMS keyword"),
        "signed_form": N_("Signed form"),
        "button": N_("Button"),
        "verbal_recorded": N_("Recorded spoken agreement"),
        "one_click": N_("One-click unsubscribe"),
        "link": N_("Link in a message"),
        "form": N_("Form"),
        "email_request": N_("Request by email"),
        "phone_request": N_("Request by phone"),
        "postal_request": N_("Request by post"),
        "objection": N_("Objection"),
        "api": N_("API"),
        "hard_bounce": N_("Address does not exist (hard bounce)"),
        "erasure": N_("Erasure"),
        "complaint": N_("Spam complaint"),
    },
}


def code_sets() -> dict[str, tuple[str, ...]]:
    """Every code set by name: the enums of `sender.enums`, then the models' tuples."""
    sets = {
        name: tuple(member.value for member in kind)
        for name, kind in vars(enums).items()
        if isinstance(kind, type) and issubclass(kind, StrEnum) and kind is not StrEnum
    }
    return {**sets, **MODEL_CODES}


def english(value: str, kind: str) -> str | None:
    """The catalogue text of one code, or None when it has none."""
    if kind == "Channel":
        return next((c.label for c in channels() if c.name == value), None)
    return LABELS.get(kind, {}).get(value)


def label(value: object, kind: str | None = None) -> str:
    """A code in the page's language; an unknown code is shown as it is (never hidden), empty as empty."""
    if value is None or value == "":
        return ""
    if kind is None and isinstance(value, StrEnum):
        kind = type(value).__name__
    text = english(str(value), kind or "")
    return gettext(text) if text is not None else str(value)


def choices_of(kind: str, codes: Iterable[str] | None = None) -> list[tuple[str, LazyString]]:
    """Select options of a set's codes (all, or those given), labelled in the language of the page shown."""
    return [(code, lazy_gettext(english(code, kind) or code)) for code in codes or code_sets()[kind]]


def say(message: str) -> str:
    """A service's reason in the page's language (as written when the catalogue has no translation)."""
    if not message:
        return ""  # the catalogue's empty msgid is its header, not a text
    if isinstance(message, Reason):
        # A value that is a reason of its own is said in the same language before it is placed.
        values = {k: say(v) if isinstance(v, Reason) else v for k, v in message.values.items()}
        return gettext(message.msgid, **values)
    return gettext(message)


def labelled(message: str, kinds: Mapping[str, str]) -> str:
    """A reason whose values named in `kinds` (value name -> code set) are codes, shown by their labels."""
    if not isinstance(message, Reason):
        return message
    values = {
        k: labelled(v, kinds) if isinstance(v, Reason) else label(v, kinds[k]) if k in kinds else v
        for k, v in message.values.items()
    }
    return Reason(message.msgid, values)


def said(errors: Mapping[str, str]) -> dict[str, str]:
    """A refusal's reasons by field, each in the page's language."""
    return {field: say(reason) for field, reason in errors.items()}


def init_app(app: Flask) -> None:
    """Offer the `label` filter to every template."""
    app.jinja_env.filters["label"] = label
    app.jinja_env.filters["say"] = say
