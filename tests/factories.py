"""factory_boy factories bound to the test session (one call to bind() per test)."""

from __future__ import annotations

from typing import Any

import factory
from sqlalchemy.orm import Session

from sender.addresses import address_hash
from sender.models import Campaign, ConsentWording, Contact, ContactList, Purpose

TEST_HASH_KEY = "test-hash-key-0123456789abcdef"

_session: dict[str, Session] = {}


def bind(session: Session) -> None:
    """Make every factory write through this session."""
    _session["current"] = session


class Base(factory.alchemy.SQLAlchemyModelFactory):
    """Flushes after create so ids exist, like warehouse's factories."""

    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: _session["current"]  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class PurposeFactory(Base):
    class Meta:
        model = Purpose

    slug = factory.Sequence(lambda n: f"purpose-{n}")
    name = factory.Sequence(lambda n: f"Purpose {n}")
    description = "News about our products, about once a month."
    legal_basis = "consent"
    retention_days = 1095
    consent_validity_days = 1095
    requires_double_opt_in = False
    data_categories = factory.LazyFunction(lambda: ["email"])
    processors = factory.LazyFunction(list)
    transfers = factory.LazyFunction(list)


class WordingFactory(Base):
    class Meta:
        model = ConsentWording

    purpose = factory.SubFactory(PurposeFactory)
    purpose_id = factory.SelfAttribute("purpose.id")
    version = 1
    text = "Yes, send me the monthly newsletter. I can unsubscribe at any time."

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("purpose", None)
        return super()._create(model_class, *args, **kwargs)


class ContactFactory(Base):
    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    email_hash = factory.LazyAttribute(lambda o: address_hash(TEST_HASH_KEY, o.email) if o.email else None)
    phone = None
    phone_hash = factory.LazyAttribute(lambda o: address_hash(TEST_HASH_KEY, o.phone) if o.phone else None)
    first_name = "Camille"
    last_name = "Martin"
    locale = "fr"
    country = "FR"
    attributes = factory.LazyFunction(dict)
    source = "api"
    status = "active"


class ListFactory(Base):
    class Meta:
        model = ContactList

    name = factory.Sequence(lambda n: f"List {n}")
    description = ""


class CampaignFactory(Base):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    purpose_id = factory.LazyAttribute(lambda o: PurposeFactory().id)
    channel = "email"
    kind = "marketing"
    subject = "Hello {{ contact.first_name }}"
    body_html = "<p>Bonjour {{ contact.first_name }}</p>"
    body_text = "Bonjour {{ contact.first_name }}"
    status = "draft"
