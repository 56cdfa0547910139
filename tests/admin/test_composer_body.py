"""The composer's body without JavaScript: formats, the server-side switch, the derived text, and the
campaign page's count of people missing a field the message uses."""

from __future__ import annotations

import html
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Campaign, ListMember
from tests.admin.conftest import post
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory

ClientAs = Callable[[str], FlaskClient]


def _form(list_id: int, **changes: str) -> dict[str, object]:
    return {
        "name": "Spring",
        "purpose": "news",
        "kind": "marketing",
        "lists": [str(list_id)],
        "subject": "Spring",
        "body_format": "markdown",
        "source_format": "markdown",
        "body_source": "# Bonjour {{ contact.first_name | default('ami') }}\n\nUn *mot*.",
        "body_text_derived": "y",
        **changes,
    }


def test_a_markdown_body_is_kept_as_written_and_sent_as_html_with_a_derived_text(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    db_session.commit()
    saved = post(client_as("marketer"), "/admin/campaigns/new", _form(lst.id))
    assert saved.status_code == 302
    campaign = db_session.scalars(select(Campaign)).one()
    assert campaign.body_format == "markdown" and campaign.body_text_derived
    assert campaign.body_source.startswith("# Bonjour {{ contact.first_name | default('ami') }}")
    assert "<h1>Bonjour {{ contact.first_name | default('ami') }}</h1>" in campaign.body_html
    assert campaign.body_text.startswith("# Bonjour {{ contact.first_name | default('ami') }}")


def test_convert_switches_the_format_on_the_server_and_says_what_is_lost(
    client_as: ClientAs, db_session: Session
) -> None:
    PurposeFactory(slug="news")
    lst = ListFactory()
    db_session.commit()
    page = post(
        client_as("marketer"),
        "/admin/campaigns/new",
        {**_form(lst.id, body_format="html"), "convert": "1"},
    )
    assert page.status_code == 200
    body = html.unescape(page.get_data(as_text=True))
    assert "<h1>Bonjour {{ contact.first_name | default('ami') }}</h1>" in body  # in the body's text area
    assert "To HTML: the HTML the body renders to is kept" in body
    assert db_session.scalars(select(Campaign)).all() == []  # converting saves nothing


def test_an_html_campaign_written_through_the_api_opens_with_its_html(
    client_as: ClientAs, db_session: Session
) -> None:
    campaign = CampaignFactory(body_html="<p>Écrit par l'API</p>")
    db_session.commit()
    page = client_as("marketer").get(f"/admin/campaigns/{campaign.id}/edit")
    assert "&lt;p&gt;Écrit par l&#39;API&lt;/p&gt;" in page.get_data(as_text=True)


def test_the_campaign_page_counts_people_missing_a_field_the_message_uses(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    for first_name in ("Léa", "", None):
        person = ContactFactory(first_name=first_name)
        grant(db_session, person, purpose)
        db_session.add(ListMember(list_id=lst.id, contact_id=person.id))
    campaign = CampaignFactory(
        purpose_id=purpose.id,
        lists=[lst],
        subject="Bonjour {{ contact.first_name }}",
        body_html="<p>{{ contact.first_name }}</p>",
    )
    db_session.commit()
    page = client_as("marketer").get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'data-field="first_name"' in page
    assert "People without first_name: 2 (it is shown empty" in html.unescape(page)


def test_the_insert_menu_offers_the_custom_attributes_and_their_gap_is_counted(
    client_as: ClientAs, db_session: Session
) -> None:
    purpose = PurposeFactory(slug="news")
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    for attributes in ({"city": "Lyon", "plan": "pro"}, {"plan": "base"}, {"city": " "}, {"2fa": "x"}):
        person = ContactFactory(attributes=attributes)
        grant(db_session, person, purpose)
        db_session.add(ListMember(list_id=lst.id, contact_id=person.id))
    db_session.commit()
    client = client_as("marketer")
    page = html.unescape(client.get("/admin/campaigns/new").get_data(as_text=True))
    # The standard fields, then each attribute key the contacts hold, each with a fallback.
    assert 'First name: {{ contact.first_name | default("ami") }}' in page
    assert 'Last name: {{ contact.last_name | default("") }}' in page
    assert 'data-field="attributes.city">city: {{ contact.attributes.city | default("") }}' in page
    assert 'data-field="attributes.plan">plan: {{ contact.attributes.plan | default("") }}' in page
    assert "attributes.2fa" not in page  # not a name a template can write after a dot
    assert page.index("Custom attributes") > page.index("Last name:")

    campaign = CampaignFactory(
        purpose_id=purpose.id,
        lists=[lst],
        subject="Nouvelles",
        body_html='<p>À {{ contact.attributes.city | default("Paris") }}</p>',
    )
    db_session.commit()
    page = html.unescape(client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True))
    assert 'data-field="attributes.city"' in page
    # Three of the four lack a city (one is blank); the fallback covers them.
    assert "People without attributes.city: 3" in page
