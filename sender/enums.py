"""The closed sets of values stored in the database: channels, statuses, kinds, consent actions and sources.

Each is a `StrEnum`, so members compare equal to the plain strings stored in rows and JSON. The migration
that adds the matching CHECK constraints spells the same values out (migrations never import app code).
The reasons (skip, delivery and suppression) are stored too, in columns without a CHECK constraint.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """How a message reaches a person."""

    EMAIL = "email"
    SMS = "sms"


class ContactStatus(StrEnum):
    """Whether a contact may be processed at all."""

    ACTIVE = "active"
    RESTRICTED = "restricted"
    ERASED = "erased"
    # Signed up on a form, not yet confirmed by the emailed link (double opt-in, R53).
    PENDING = "pending"


class CampaignStatus(StrEnum):
    """Where a campaign is in its lifecycle."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class CampaignKind(StrEnum):
    """Why a campaign is sent."""

    MARKETING = "marketing"
    LEGAL_NOTICE = "legal_notice"
    REQUALIFICATION = "requalification"
    # One step of a sequence: an internal campaign whose deliveries are its enrolments' sends.
    SEQUENCE = "sequence"


class BodyFormat(StrEnum):
    """How a campaign's body is written; the HTML it sends is derived from it (services/messages/formats.py)."""

    RICHTEXT = "richtext"
    MARKDOWN = "markdown"
    HTML = "html"
    MJML = "mjml"


class DeliveryStatus(StrEnum):
    """The fate of one campaign for one contact."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    # Held back: outside the recipient's quiet hours until `not_before` (SMS, R14, reason `quiet_hours`), or
    # until an A/B test's winner is chosen (reason `ab_test`, no `not_before`).
    DEFERRED = "deferred"
    # Accepted by the relay, then reported undeliverable for good (a hard bounce arriving later).
    BOUNCED = "bounced"


class ConsentAction(StrEnum):
    """What a consent event records; `request` is a grant awaiting double opt-in confirmation."""

    GRANT = "grant"
    WITHDRAW = "withdraw"
    REQUEST = "request"


class ConsentStatus(StrEnum):
    """The current consent state of (contact, purpose, channel), derived from the ledger."""

    GRANTED = "granted"
    PENDING = "pending"
    WITHDRAWN = "withdrawn"


class ConsentSource(StrEnum):
    """Where a consent event came from."""

    API = "api"
    FORM = "form"
    IMPORT = "import"
    ADMIN = "admin"
    DOUBLE_OPT_IN = "double_opt_in"
    REQUALIFICATION = "requalification"
    PORTAL = "portal"
    SMS_KEYWORD = "sms_keyword"
    ONE_CLICK = "one_click"
    UNSUBSCRIBE_PAGE = "unsubscribe_page"
    # A spam complaint relayed by a mailbox provider (ARF report or provider webhook).
    COMPLAINT = "complaint"


class SkipReason(StrEnum):
    """Why the consent gate refuses a contact (a skipped delivery's reason), in the order the gate tests them."""

    ERASED = "erased"
    RESTRICTED = "restricted"
    NO_ADDRESS = "no_address"
    SUPPRESSED = "suppressed"
    NO_CONSENT = "no_consent"
    PENDING_CONFIRMATION = "pending_confirmation"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class CycleState(StrEnum):
    """Where a requalification cycle stands, beyond its campaign's status (a cycle whose asks all left is
    `sent` yet still open to answers, and asks the newly due, until its deadline)."""

    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ImportStatus(StrEnum):
    """An import batch's life: stored, then a dry run (analysing → analysed) or its commit (committing →
    committed), or failed with its reason."""

    PENDING = "pending"
    ANALYSING = "analysing"
    ANALYSED = "analysed"
    COMMITTING = "committing"
    COMMITTED = "committed"
    FAILED = "failed"


class RequestStatus(StrEnum):
    """A rights request: open until it is completed or refused (with its reason)."""

    OPEN = "open"
    COMPLETED = "completed"
    REFUSED = "refused"


class AskStatus(StrEnum):
    """One person's requalification ask: asked (message planned), confirmed or declined (the person
    answered), erased or archived (silent at the deadline), excluded (no longer askable when the deadline
    came: withdrew, objected or erased elsewhere)."""

    ASKED = "asked"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    ERASED = "erased"
    ARCHIVED = "archived"
    EXCLUDED = "excluded"


class DeliveryReason(StrEnum):
    """Why a delivery the gate let through failed, was deferred, cancelled, or has an unknown outcome."""

    RENDER_FAILED = "render_failed"
    INVALID_ADDRESS = "invalid_address"
    REJECTED = "rejected"
    OPTED_OUT = "opted_out"
    OUTCOME_UNKNOWN = "outcome_unknown"
    NOT_SENT = "not_sent"
    QUIET_HOURS = "quiet_hours"
    # Not in an A/B test's share: waits for the winning variant.
    AB_TEST = "ab_test"
    CAMPAIGN_CANCELLED = "campaign_cancelled"
    DEADLINE_PASSED = "deadline_passed"
    # Temporary failures until the batch's attempts ran out.
    TEMPORARY_FAILURE = "temporary_failure"


class SuppressionReason(StrEnum):
    """Why an address's keyed hash is on the suppression list of a channel."""

    ERASURE = "erasure"
    OBJECTION = "objection"
    SMS_STOP = "sms_stop"
    CARRIER_OPT_OUT = "carrier_opt_out"
    HARD_BOUNCE = "hard_bounce"
    INVALID_NUMBER = "invalid_number"
    # SOFT_BOUNCE_LIMIT temporary failures in a row within 15 days.
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"


class FeedbackKind(StrEnum):
    """What a bounce or complaint report says about one message, whichever door it came through."""

    HARD_BOUNCE = "hard_bounce"
    SOFT_BOUNCE = "soft_bounce"
    COMPLAINT = "complaint"


class BreakerTrip(StrEnum):
    """Why the circuit breaker paused a campaign: the rate that reached its threshold."""

    COMPLAINTS = "complaints"
    HARD_BOUNCES = "hard_bounces"


class WithdrawalKind(StrEnum):
    """How a person said no, as the proof of honouring lists it (R77)."""

    OPT_OUT = "opt_out"
    OBJECTION = "objection"
    COMPLAINT = "complaint"
    STOP = "stop"


class AfterWithdrawal(StrEnum):
    """What a marketing message that left after a withdrawal was: already handed over, or an exception."""

    # Claimed for sending (consent re-checked) before the withdrawal, handed to the relay as it happened.
    IN_FLIGHT = "in_flight"
    # Claimed after the withdrawal: it should never have left.
    EXCEPTION = "exception"


class Role(StrEnum):
    """What a staff user may do."""

    ADMIN = "admin"
    MARKETER = "marketer"
    DPO = "dpo"


class SegmentOperator(StrEnum):
    """How a segment compares a contact's attribute (or its country or language) with a value."""

    EQUALS = "equals"
    CONTAINS = "contains"
    EMPTY = "empty"


class TransferMechanism(StrEnum):
    """How personal data handed to a processor may lawfully leave the EEA (GDPR Art. 44-46)."""

    EEA = "eea"  # no transfer: the processor works inside the EEA
    ADEQUACY = "adequacy"
    DPF = "dpf"  # EU-US Data Privacy Framework (an adequacy decision for certified US companies)
    SCC = "scc"
    BCR = "bcr"
    NONE = "none"


class DpiaReason(StrEnum):
    """Why a purpose needs a data protection impact assessment (GDPR Art. 35, CNIL list)."""

    PROFILING = "profiling"
    EXTERNAL_DATA = "external_data"
    LARGE_SCALE_TRACKING = "large_scale_tracking"


class DpiaOutcome(StrEnum):
    """What the assessment concluded; only an acceptable residual risk lets campaigns start."""

    ACCEPTABLE = "acceptable"
    ACCEPTABLE_WITH_MEASURES = "acceptable_with_measures"
    # High residual risk: the authority must be consulted first (Art. 36); campaigns stay blocked.
    PRIOR_CONSULTATION = "prior_consultation"


class CheckOutcome(StrEnum):
    """The verdict of one check before sending (services/composer/checks.py)."""

    PASS = "pass"  # noqa: S105  (a verdict, not a password)
    WARN = "warn"
    FAIL = "fail"
    # Not run: the optional tool is missing, or the check waits to be asked for (links).
    SKIPPED = "skipped"


class PurposeKind(StrEnum):
    """What a purpose's consent allows: receiving messages, or being measured in them (R54, R55)."""

    MARKETING = "marketing"
    # Tracking consent: individual click and open measurement, never a condition of any other consent.
    TRACKING = "tracking"


class TrackingMode(StrEnum):
    """How a campaign measures clicks (R54, R56, R72): off by default."""

    OFF = "off"
    AGGREGATE = "aggregate"  # a campaign-level redirect that names no one
    PER_PERSON = "per_person"  # a signed per-delivery token, only with tracking consent


class AbDecision(StrEnum):
    """How an A/B test's winner is chosen: by its unique aggregate clicks when the wait is over, or by a person."""

    CLICKS = "clicks"
    MANUAL = "manual"


class EngagementKind(StrEnum):
    """What an engagement event records."""

    CLICK = "click"
    OPEN = "open"


class EngagementClass(StrEnum):
    """Who made an engagement event, as far as its request tells (R57)."""

    HUMAN = "human"
    SCANNER = "scanner"  # a security gateway following links: never counted
    MACHINE_OPEN = "machine_open"  # a privacy proxy loading images (Apple MPP, Google image proxy)


class WebhookEvent(StrEnum):
    """A fact other systems may learn of through a signed outgoing webhook (sent after commit, by jobs)."""

    CONSENT_GRANTED = "consent.granted"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    CONTACT_RESTRICTED = "contact.restricted"
    CONTACT_ERASED = "contact.erased"
    DELIVERY_BOUNCED = "delivery.bounced"
    DELIVERY_COMPLAINED = "delivery.complained"
    RIGHTS_REQUEST_CREATED = "rights_request.created"
    RIGHTS_REQUEST_CLOSED = "rights_request.closed"
    CAMPAIGN_FINISHED = "campaign.finished"
    SEQUENCE_STEP_SENT = "sequence.step_sent"


class WebhookDeliveryStatus(StrEnum):
    """Where one event's delivery to one endpoint stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    # Retried with backoff for the whole window without a 2xx answer.
    FAILED = "failed"
    # The endpoint was disabled (by an admin or after repeated failure) before it was delivered.
    SKIPPED = "skipped"


class OutboundError(StrEnum):
    """Why a request sender made to a URL someone else chose (a webhook, a link check) got no 2xx answer."""

    NOT_HTTPS = "not_https"
    MALFORMED = "malformed"
    UNRESOLVED = "unresolved"
    # The SSRF rule: the host resolves to a loopback, private, link-local or reserved address.
    PRIVATE_ADDRESS = "private_address"
    TIMEOUT = "timeout"
    TLS = "tls"
    CONNECTION = "connection"
    NO_ANSWER = "no_answer"
    # An answer came, outside 2xx (its status is recorded beside).
    HTTP_STATUS = "http_status"


class TransactionalStatus(StrEnum):
    """Where one transactional message (contract, legal obligation) stands."""

    QUEUED = "queued"
    SENT = "sent"
    # The transport refused it for good, or the contact could no longer be messaged at send time.
    FAILED = "failed"
    SKIPPED = "skipped"
    # Its send had started when its worker was lost: the relay may have taken it, so it is never sent again.
    UNKNOWN = "unknown"


def one_of(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK constraint keeping `column` within an enum's values."""
    listed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({listed})"


class SequenceStatus(StrEnum):
    """Where a sequence is: written by its state machine (services/sequences/states.py)."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"


class SequenceTrigger(StrEnum):
    """What enrols a person in a sequence."""

    CONSENT = "consent"
    LIST = "list"
    SEGMENT = "segment"
    DATE = "date"


class DelayUnit(StrEnum):
    """The unit of a step's delay."""

    HOURS = "hours"
    DAYS = "days"


class EnrolmentStatus(StrEnum):
    """Where a person is in a sequence."""

    ACTIVE = "active"
    COMPLETED = "completed"
    EXITED = "exited"


class ExitReason(StrEnum):
    """Why a person left a sequence before its end."""

    WITHDRAWN = "withdrawn"
    ERASED = "erased"
    # The gate refused a step (restriction, suppression, expiry…): the step's skip reason says which.
    REFUSED = "refused"
