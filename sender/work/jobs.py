"""The jobs our code may ask for, as typed references: ids in, a deterministic job id, the queue to run on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sender.work import Job


class OnChannelQueue:
    """Campaign work runs on its channel's queue, so a slow provider never holds the others back."""

    channel: str

    @property
    def queue(self) -> str:
        """The channel's own queue."""
        return self.channel


@dataclass(frozen=True)
class SendBatch(OnChannelQueue, Job):
    """Send one batch of a campaign's deliveries, on the campaign's channel queue.

    `restart` names a fresh run of a batch whose previous job is known dead (the queue may still list the
    dead run under the plain id); a plain batch already waiting or running is not asked for twice.
    """

    campaign_id: int
    batch_no: int
    channel: str
    restart: str | None = None

    @property
    def job_id(self) -> str:
        """campaign-N-batch-M, with the restart suffix for a fresh run."""
        base = f"campaign-{self.campaign_id}-batch-{self.batch_no}"
        return f"{base}-{self.restart}" if self.restart else base

    @property
    def args(self) -> tuple[Any, ...]:
        """(campaign id, batch number)."""
        return (self.campaign_id, self.batch_no)


@dataclass(frozen=True)
class LaunchCampaign(OnChannelQueue, Job):
    """Launch a scheduled campaign (plan, record, enqueue its batches), on its channel's queue."""

    campaign_id: int
    channel: str

    @property
    def job_id(self) -> str:
        """campaign-N-launch: one launch per campaign."""
        return f"campaign-{self.campaign_id}-launch"

    @property
    def args(self) -> tuple[Any, ...]:
        """(campaign id,)."""
        return (self.campaign_id,)


@dataclass(frozen=True)
class DecideAbTest(OnChannelQueue, Job):
    """Choose an A/B test's winner by its clicks once the wait is over, and release the rest to it."""

    campaign_id: int
    channel: str

    @property
    def job_id(self) -> str:
        """campaign-N-ab-decision: one decision per campaign."""
        return f"campaign-{self.campaign_id}-ab-decision"

    @property
    def args(self) -> tuple[Any, ...]:
        """(campaign id,)."""
        return (self.campaign_id,)


@dataclass(frozen=True)
class ReleaseDeferred(OnChannelQueue, Job):
    """Queue again a campaign's deliveries deferred (quiet hours) until `slot` (naive UTC)."""

    campaign_id: int
    channel: str
    slot: datetime

    @property
    def job_id(self) -> str:
        """One job per campaign and slot: batches deferred to the same moment share it."""
        return f"campaign-{self.campaign_id}-release-{int(self.slot.replace(tzinfo=UTC).timestamp())}"

    @property
    def args(self) -> tuple[Any, ...]:
        """(campaign id,)."""
        return (self.campaign_id,)


@dataclass(frozen=True)
class RunImport(Job):
    """Analyse or commit an uploaded import batch (the file stays in the database)."""

    batch_id: int
    mode: str

    @property
    def job_id(self) -> str:
        """import-N-mode: asking twice for the same run names the same job."""
        return f"import-{self.batch_id}-{self.mode}"

    @property
    def args(self) -> tuple[Any, ...]:
        """(batch id,)."""
        return (self.batch_id,)


@dataclass(frozen=True)
class ToContact(Job):
    """A message to one contact's own address, sent anew for every request (no deduplication)."""

    contact_id: int

    @property
    def job_id(self) -> str | None:
        """A new job each time: every request sends its own link."""
        return None

    @property
    def args(self) -> tuple[Any, ...]:
        """(contact id,)."""
        return (self.contact_id,)


@dataclass(frozen=True)
class SendPortalLink(ToContact):
    """Email a fresh privacy-portal link to a contact's own address."""


@dataclass(frozen=True)
class SendSignupConfirmation(Job):
    """Send the double opt-in confirmation link of a sign-up (or of a portal grant on `channel`); no contact
    or no wording: nothing to send.

    Every sign-up queues one, so that a new, a known and a suppressed address cost the web request the same.
    """

    contact_id: int | None
    wording_ids: tuple[int, ...]
    channel: str = "email"

    @property
    def job_id(self) -> str | None:
        """A new job each time: every sign-up sends its own link."""
        return None

    @property
    def args(self) -> tuple[Any, ...]:
        """(contact id, wording ids, channel)."""
        return (self.contact_id, list(self.wording_ids), self.channel)


@dataclass(frozen=True)
class SendErasureConfirmation(ToContact):
    """Send the link confirming an erasure asked in the portal, to the person's own address."""


@dataclass(frozen=True)
class SendAddressConfirmation(Job):
    """Send the link confirming a corrected address, to that new address."""

    change_id: int

    @property
    def job_id(self) -> str | None:
        """A new job each time: every correction sends its own link."""
        return None

    @property
    def args(self) -> tuple[Any, ...]:
        """(address change id,)."""
        return (self.change_id,)


@dataclass(frozen=True)
class DeliverWebhook(Job):
    """Make one attempt at delivering one event to one endpoint (signed, after the event's commit)."""

    delivery_id: int
    attempt: int

    @property
    def job_id(self) -> str:
        """webhook-N-attempt-M: each attempt once, a retry under its own id."""
        return f"webhook-{self.delivery_id}-attempt-{self.attempt}"

    @property
    def args(self) -> tuple[Any, ...]:
        """(delivery id, attempt number)."""
        return (self.delivery_id, self.attempt)


@dataclass(frozen=True)
class NotifyEndpointDisabled(Job):
    """Email the admins that a webhook endpoint was disabled after repeated failure."""

    endpoint_id: int

    @property
    def job_id(self) -> str | None:
        """A new job each time: each disabling is told."""
        return None

    @property
    def args(self) -> tuple[Any, ...]:
        """(endpoint id,)."""
        return (self.endpoint_id,)


@dataclass(frozen=True)
class SendTransactional(Job):
    """Send one transactional message, on its own queue that workers listen to first."""

    message_id: int

    @property
    def queue(self) -> str:
        """The transactional queue: ahead of campaign batches."""
        return "transactional"

    @property
    def job_id(self) -> str:
        """transactional-N: one job per message."""
        return f"transactional-{self.message_id}"

    @property
    def args(self) -> tuple[Any, ...]:
        """(message id,)."""
        return (self.message_id,)
