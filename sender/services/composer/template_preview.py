"""A template as a message shows it: a sample body inside its layout, through the real renderer and footer."""

from __future__ import annotations

from sender.config import Settings
from sender.models import Campaign, Contact, Purpose, Template
from sender.services.messages.rendering import MessageRenderer
from sender.tokens import TokenService

SAMPLE_HTML = (
    "<h1>Spring newsletter</h1>"
    "<p>Hello {{ contact.first_name }}, here is what is new this month: a longer paragraph shows how "
    "the text wraps on a phone and on a desktop screen alike.</p>"
    '<p><a href="https://example.org/news">Read the news</a></p>'
)
SAMPLE_TEXT = "Spring newsletter\n\nHello {{ contact.first_name }}, here is what is new this month.\n"


def html(settings: Settings, tokens: TokenService, template: Template, body_html: str = SAMPLE_HTML) -> str:
    """The HTML part of a sample message (`body_html`) in this template, footer and exits included."""
    campaign = Campaign(
        id=0,
        channel="email",
        kind="marketing",
        subject="Spring newsletter",
        body_html=body_html,
        body_text=SAMPLE_TEXT,
        locale=None,
    )
    campaign.template = template
    purpose = Purpose(id=0, slug="sample", name="Newsletter", description="")
    renderer = MessageRenderer(settings, tokens, campaign, purpose)
    sample = Contact(
        public_id="sample", email="camille.martin@example.org", first_name="Camille", last_name="Martin"
    )
    return renderer.content(sample).html
