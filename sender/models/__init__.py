"""All tables; importing this package completes Base.metadata for Alembic."""

from sender.models.campaigns import Campaign, Delivery, campaign_lists
from sender.models.compliance import AuditEvent
from sender.models.consent import ConsentEvent, ConsentState, ConsentWording, Purpose
from sender.models.contacts import Contact, ContactList, ListMember, Suppression
from sender.models.requalification import CronLock, Requalification, RequalificationAsk
from sender.models.users import ApiToken, User

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Campaign",
    "ConsentEvent",
    "ConsentState",
    "ConsentWording",
    "Contact",
    "ContactList",
    "CronLock",
    "Delivery",
    "ListMember",
    "Purpose",
    "Requalification",
    "RequalificationAsk",
    "Suppression",
    "User",
    "campaign_lists",
]
