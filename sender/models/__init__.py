"""All tables; importing this package completes Base.metadata for Alembic."""

from sender.models.breaches import BreachIncident, BreachNotice
from sender.models.campaigns import (
    AbTest,
    Campaign,
    CampaignVariant,
    Delivery,
    DeliveryCount,
    DeliveryTally,
    campaign_lists,
)
from sender.models.compliance import AuditCheckpoint, AuditEvent
from sender.models.consent import ConsentEvent, ConsentState, ConsentTally, ConsentWording, Purpose
from sender.models.contacts import Contact, ContactList, ListMember, ListTally, Suppression
from sender.models.deliverability import DeliveryFeedback
from sender.models.engagement import CampaignLink, EngagementDaily, EngagementEvent, EngagementRollup
from sender.models.imports import ImportBatch, ImportFileChunk, ImportReportLine
from sender.models.library import Media, Template
from sender.models.records import ProcessorEntry, PurposeDpia
from sender.models.requalification import CronLock, Requalification, RequalificationAsk
from sender.models.rights import AddressChange, RightsRequest, UsedToken
from sender.models.segments import ContactTag, Segment, campaign_segments
from sender.models.sequences import Enrolment, Sequence, SequenceStep
from sender.models.sms import InboundSms
from sender.models.staff import OrganisationSettings, SignInThrottle
from sender.models.transactional import TransactionalMessage
from sender.models.users import ApiToken, SetupLock, User
from sender.models.webhooks import OutgoingEvent, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AbTest",
    "AddressChange",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "BreachIncident",
    "BreachNotice",
    "Campaign",
    "CampaignLink",
    "CampaignVariant",
    "ConsentEvent",
    "ConsentState",
    "ConsentTally",
    "ConsentWording",
    "Contact",
    "ContactList",
    "ContactTag",
    "CronLock",
    "Delivery",
    "DeliveryCount",
    "DeliveryFeedback",
    "DeliveryTally",
    "EngagementDaily",
    "EngagementEvent",
    "EngagementRollup",
    "Enrolment",
    "ImportBatch",
    "ImportFileChunk",
    "ImportReportLine",
    "InboundSms",
    "ListMember",
    "ListTally",
    "Media",
    "OrganisationSettings",
    "OutgoingEvent",
    "ProcessorEntry",
    "Purpose",
    "PurposeDpia",
    "Requalification",
    "RequalificationAsk",
    "RightsRequest",
    "Segment",
    "Sequence",
    "SequenceStep",
    "SetupLock",
    "SignInThrottle",
    "Suppression",
    "Template",
    "TransactionalMessage",
    "UsedToken",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "campaign_lists",
    "campaign_segments",
]
