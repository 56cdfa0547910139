"""The one interface every channel implements, and the registry everything channel-specific is found in.

The send loop (services/campaigns/delivery.py) claims deliveries, renders, sends and records without knowing
which channel it serves; the consent gate, the composer, the rights and the imports do not either. Everything
channel-specific comes from a `Channel`, found with `get_channel(name)` or listed by `channels()`:

- `address`: which contact columns hold the channel's address and its keyed hash (the consent gate's
  `no_address` rule, the suppression list, erasure and objections read them), and `normalise()`, how an
  address given for the channel is checked and written in its canonical form;
- `label` (a catalogue text, translated where it is shown) and `processor`: who handles the messages for the
  organisation and whether that takes the data outside the EEA (the access report, GDPR Art. 15);
- `content`: which templates a campaign renders for the channel (`content.parts`), which are required, their
  size limits and the check of one person's rendered text (SMS: segments), all applied when it is saved;
- `assembler()`: how the rendered `Content` of one person becomes the message on the wire (email: MIME bytes),
  and a test of it for a tester, marked with TEST_MARK where it is read first (`assemble_test`);
- `transport()`: one connection to the provider; the send path keeps `connections()` of them open;
- `verdict()`: what a provider's answer means (sent / retry / failed / unknown, suppression, throttling);
- `rate_limits()`: the provider's rate, enforced across every worker through Redis (channels/ratelimit.py);
- `hold_until()`: when a claimed message may go (SMS quiet hours; None: now);
- `missing_settings()`: what must be configured before a campaign may be launched on the channel.

A channel is a member of `enums.Channel` (the CHECK constraints) and a package under channels/ (say
`channels/sms/`) whose `__init__` calls `register()` with an object satisfying `Channel`; `get_channel` and
`channels()` import `sender.channels.<name>` on first use. Importing a channel needs no settings: its address
facts serve the consent gate before its transport is configured. The campaign renderer
(services/messages/rendering.py) renders the marketer's templates listed in `content.parts` in the sandbox,
appends the system footer `templates/<name>/footer.txt` (and `footer.html` when "html" is a part) with the
signed links, and passes the resulting `Content` to the channel's assembler. Transports know providers,
never consent; a raised RenderFailed fails that one delivery with its reason, never its neighbours.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from sender.enums import Channel as ChannelName
from sender.enums import DeliveryReason, SuppressionReason
from sender.models import Contact

if TYPE_CHECKING:
    from sender.config import Rate, Settings
    from sender.models import Campaign, Purpose

Outcome = Literal["sent", "temporary", "permanent"]
# What marks a test message (the campaign page's test sends) where its reader sees it first: an email's
# subject, an SMS's text.
TEST_MARK = "[TEST] "
M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)
M_contra = TypeVar("M_contra", contravariant=True)


@dataclass(frozen=True)
class SendResult:
    """What a provider answered for one message."""

    outcome: Outcome
    code: int | None = None
    detail: str = ""
    provider_id: str | None = None
    # True when the provider says the address does not exist (SMTP 5.1.x): suppress it.
    address_invalid: bool = False
    # True when the message went out but the reply was lost: it may have been delivered, never resend it.
    outcome_unknown: bool = False


@dataclass(frozen=True)
class Verdict:
    """What a provider's answer means for the delivery, decided by the channel.

    status: `sent`; `retry` (temporary: back to the queue until attempts run out); `failed` (permanent);
    `unknown` (it may have gone out: never resent). `reason` is the delivery's reason when it fails or is
    unknown; `suppress` the suppression-list reason for the address (e.g. `hard_bounce`), or None.
    `throttled`: the provider asks us to slow down; the sender backs off and the try is not counted.
    """

    status: Literal["sent", "retry", "failed", "unknown"]
    reason: str | None = None
    suppress: str | None = None
    throttled: bool = False


def default_verdict(result: SendResult, *, suppress: str = SuppressionReason.HARD_BOUNCE) -> Verdict:
    """The mapping most providers share: unknown wins, an invalid address fails and is suppressed."""
    if result.outcome_unknown:
        return Verdict("unknown", DeliveryReason.OUTCOME_UNKNOWN)
    if result.outcome == "sent":
        return Verdict("sent")
    if result.outcome == "permanent":
        if result.address_invalid:
            return Verdict("failed", DeliveryReason.INVALID_ADDRESS, suppress=suppress)
        return Verdict("failed", DeliveryReason.REJECTED)
    return Verdict("retry")


class RenderFailed(Exception):
    """One message could not be rendered or encoded; that delivery alone fails, with `reason`.

    `detail` names the kind of error only (never template output or contact data: it is stored and logged).
    """

    def __init__(self, detail: str, reason: str = DeliveryReason.RENDER_FAILED) -> None:
        super().__init__(detail)
        self.detail, self.reason = detail, reason


@dataclass(frozen=True)
class ContactAddress:
    """Which Contact attributes hold a channel's address and its keyed hash (HMAC, for the suppression list)."""

    column: str
    hash_column: str

    def of(self, contact: Contact) -> str | None:
        """The contact's address on this channel."""
        value: str | None = getattr(contact, self.column)
        return value

    def hash_of(self, contact: Any) -> str | None:
        """The keyed hash of that address, read from a contact or any record with the same attributes."""
        value: str | None = getattr(contact, self.hash_column, None)
        return value

    def columns(self) -> tuple[Any, Any]:
        """The mapped columns (address, hash), for SQL such as the consent gate."""
        return getattr(Contact, self.column), getattr(Contact, self.hash_column)


@dataclass(frozen=True)
class Processor:
    """Who handles a channel's messages for the organisation (GDPR Art. 28), for the access report (Art. 15)."""

    name: str
    role: str
    country: str
    safeguards: str
    # How the transfer outside the EEA is named in the report (e.g. "Twilio Inc., United States"); None: none.
    transfer: str | None = None
    # The default facts of the processors inventory (services/records/processors.py): ISO country code and
    # transfer mechanism (enums.TransferMechanism) when the provider is known; None: the organisation says.
    country_code: str | None = None
    mechanism: str | None = None

    def recipient(self) -> dict[str, str]:
        """The processor as one recipient of the access report."""
        return {"name": self.name, "role": self.role, "country": self.country, "safeguards": self.safeguards}


@dataclass(frozen=True)
class ContentRules:
    """What a campaign on a channel is made of, checked when it is saved.

    `limits`: the templates rendered for the channel ("subject", "text", "html"), in order, with the most
    characters each template may have; `required`: the parts that must not be blank; `check_text`: what is
    wrong with one person's rendered text body (e.g. too many SMS segments), or None when it fits; absent
    when any length fits, so the text is then compiled but not rendered at save time.
    """

    limits: Mapping[str, int]
    required: frozenset[str]
    check_text: Callable[[str], str | None] | None = field(default=None, compare=False)

    @property
    def parts(self) -> tuple[str, ...]:
        """The templates rendered for the channel, among "subject", "text" and "html"."""
        return tuple(self.limits)

    @property
    def text_only(self) -> bool:
        """The message is its text alone (SMS): no subject, no HTML, so no layout, tracking or email preview."""
        return self.parts == ("text",)


@dataclass(frozen=True)
class Content:
    """One person's message as rendered from the campaign's templates, system footer included.

    Parts a channel does not list in `Channel.parts` are empty strings. The links are already in the
    footer; they are given again for headers (email's List-Unsubscribe).
    """

    subject: str
    text: str
    html: str
    unsubscribe_url: str | None
    portal_url: str
    # Where reports about this one message go (email: the VERP envelope sender); None: the channel's default.
    return_path: str | None = None
    # The language chosen for this person (their own, else the campaign's, else the organisation's): the
    # footer is in it, and so are the mentions a channel adds itself (an SMS's portal line).
    locale: str = "en"


class Assembler(Protocol[M_co]):
    """Turns rendered content into the channel's wire message; built once per batch, used from many threads."""

    def assemble(self, address: str, content: Content, delivery_id: int) -> M_co:
        """The message for one person; raise RenderFailed if it cannot be encoded."""
        ...

    def assemble_test(self, address: str, content: Content) -> M_co:
        """A test of the message for a tester, marked with TEST_MARK; it names no delivery and goes now."""
        ...


class Transport(Protocol[M_contra]):
    """One connection to a provider; use as a context manager. Must not raise for provider or network errors."""

    def __enter__(self) -> Transport[M_contra]: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, message: M_contra) -> SendResult:
        """Send one message and report the provider's answer."""
        ...


@runtime_checkable
class Channel(Protocol):
    """One way of reaching a person. Implementations are stateless and shared; see the module docstring."""

    name: str
    # English text marked for the catalogue (i18n.N_), translated where it is shown: "e-mail", "SMS".
    label: str
    address: ContactAddress
    content: ContentRules
    processor: Processor

    def normalise(self, raw: str, settings: Settings) -> str:
        """The address in its canonical form; AddressError (naming `address.column`) when it is not one."""
        ...

    def missing_settings(self, settings: Settings) -> dict[str, str]:
        """Settings required to send on this channel that are unset or invalid: {VARIABLE: why}."""
        ...

    def processor_host(self, settings: Settings) -> str | None:
        """The provider's host messages go to with these settings; None: nobody outside (the local outbox)."""
        ...

    def assembler(self, settings: Settings, campaign: Campaign, purpose: Purpose) -> Assembler[Any]:
        """The per-batch assembler of wire messages for a campaign."""
        ...

    def transport(self, settings: Settings) -> Transport[Any]:
        """A fresh, not yet entered transport: one persistent connection of the pool."""
        ...

    def verdict(self, result: SendResult) -> Verdict:
        """Map a provider's answer to the delivery's fate (usually default_verdict plus throttling)."""
        ...

    def connections(self, settings: Settings) -> int:
        """How many connections one worker keeps open to the provider (at least 1)."""
        ...

    def rate_limits(self, settings: Settings) -> tuple[Rate, ...]:
        """The provider's rate limits, shared by all workers (empty: unlimited)."""
        ...

    def hold_until(
        self, settings: Settings, campaign: Campaign, contact: Contact, at: datetime
    ) -> datetime | None:
        """When a claimed message to `contact` may go, if not now (SMS quiet hours); None: send now."""
        ...


_registry: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    """Make a channel available to get_channel(); called by the channel package's __init__."""
    _registry[channel.name] = channel
    return channel


def get_channel(name: str) -> Channel:
    """The channel called `name` (importing `sender.channels.<name>` on first use); LookupError if none."""
    if name not in _registry and name.isidentifier():
        module = f"sender.channels.{name}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a missing dependency of an existing channel is a real error
                raise
    try:
        return _registry[name]
    except KeyError:
        raise LookupError(f"no sending channel {name!r} is available") from None


def channels() -> tuple[Channel, ...]:
    """Every channel of enums.Channel, in its order; LookupError when one has no package under channels/."""
    return tuple(get_channel(name) for name in ChannelName)


def address_columns() -> tuple[str, ...]:
    """The contact columns holding every channel's address and keyed hash, each once (channels may share)."""
    return tuple(dict.fromkeys(c for ch in channels() for c in (ch.address.column, ch.address.hash_column)))
