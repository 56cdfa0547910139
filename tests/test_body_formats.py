"""Campaign bodies in every format: converted, then sent through the same sandbox, sanitiser, footer and exits."""

from __future__ import annotations

import email
import re
from email.message import EmailMessage
from email.policy import default as default_policy
from html.parser import HTMLParser

import pytest
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.enums import BodyFormat
from sender.models import Campaign, Contact, ListMember, Purpose
from sender.runtime import Runtime
from sender.services.campaigns import field_gaps
from sender.services.campaigns.schema import CampaignDraft
from sender.services.errors import ValidationFailed
from sender.services.messages import formats
from sender.services.messages.rendering import EmailRenderer
from sender.services.messages.sandbox import TemplateContact, compile_template
from tests.campaign_helpers import grant
from tests.factories import CampaignFactory, ContactFactory, ListFactory, PurposeFactory, WordingFactory

# In each format: a script, event handlers, CSS that would hide what follows (the footer), javascript: links.
HOSTILE = {
    BodyFormat.HTML: (
        '<p onclick="steal()">Bonjour {{ contact.first_name | default("ami") }}</p>'
        '<a href="javascript:alert(1)">offre</a><img src="https://e.test/i.png" onerror="steal()" alt="i">'
        "<script>alert(1)</script><style>p{display:none}</style>"
        '<div style="display:none;position:fixed;height:0;overflow:hidden">'
    ),
    BodyFormat.RICHTEXT: (
        '<p class="ql-align-center" onmouseover="steal()">Bonjour&nbsp;{{&nbsp;contact.first_name | '
        'default(&quot;ami&quot;)&nbsp;}}</p><p><a href="javascript:alert(1)">offre</a></p>'
        '<script>alert(1)</script><div style="display: none; padding-bottom: 90000px">'
    ),
    BodyFormat.MARKDOWN: (
        '# Bonjour {{ contact.first_name | default("ami") }}\n\n'
        "[offre](javascript:alert(1)) <script>alert(1)</script>\n\n"
        '<div style="display:none" onclick="steal()">\n\n'
        "![i](javascript:alert(1))\n"
    ),
    BodyFormat.MJML: (
        "<mjml><mj-head><mj-style>* { display: none !important; }</mj-style></mj-head><mj-body>"
        "<mj-section><mj-column><mj-text>"
        'Bonjour {{ contact.first_name | default("ami") }} <a href="javascript:alert(1)" onclick="steal()">'
        "offre</a><script>alert(1)</script></mj-text>"
        '<mj-raw><div style="display:none">caché</div></mj-raw>'
        "</mj-column></mj-section></mj-body></mjml>"
    ),
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of a document with its attributes, as a browser's parser reads them."""
    parser = _Tags()
    parser.feed(html)
    return parser.found


def _message(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> EmailMessage:
    sent = EmailRenderer(settings, runtime.tokens, campaign, purpose).render(contact, 7)
    parsed: EmailMessage = email.message_from_bytes(sent.data, policy=default_policy)
    return parsed


@pytest.mark.parametrize("body_format", list(BodyFormat))
def test_every_format_ends_in_the_sanitiser_with_its_footer_and_exits(
    db_session: Session, settings: Settings, runtime: Runtime, body_format: BodyFormat
) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    draft = CampaignDraft.parse(
        {
            "name": "n",
            "purpose": purpose.slug,
            "subject": "Nouvelles",
            "body_format": str(body_format),
            "body_source": HOSTILE[body_format],
            "body_text_derived": True,
        }
    )
    assert draft.body_source == HOSTILE[body_format]  # kept as written
    campaign = CampaignFactory(purpose_id=purpose.id, **draft.content())
    for first_name, greeting in (("Léa", "Bonjour Léa"), ("", "Bonjour ami"), (None, "Bonjour ami")):
        message = _message(settings, runtime, campaign, purpose, ContactFactory(first_name=first_name))
        html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
        assert html_part is not None and text_part is not None
        html, text = html_part.get_content(), text_part.get_content()
        tags = _tags(html)
        assert not [t for t, _ in tags if t == "script"], body_format
        # Only MJML's own media queries reach the head; the author's `* { display: none }` does not.
        sheets = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
        assert len(sheets) == (body_format == BodyFormat.MJML), body_format
        for css in sheets:
            assert html.index("<style>") < html.index("<body")
            assert "display" not in css and "*" not in css, css
        for tag, attributes in tags:
            for name, value in attributes:
                assert not name.startswith("on"), (body_format, tag, name)
                assert not (value or "").strip().lower().startswith("javascript:"), (body_format, tag)
                if name == "style":
                    assert not re.search(r"display:(?!inline-block)", value or ""), (body_format, value)
                    assert "90000" not in (value or ""), (body_format, value)
                if name == "class":
                    assert value and value.startswith("mj-column-per-"), (body_format, value)
        assert greeting in html and greeting in text
        unsubscribe = str(message["List-Unsubscribe"]).split("<")[1].split(">")[0]
        for part in (html, text):
            assert unsubscribe.replace("&", "&amp;") in part or unsubscribe in part
            assert "https://sender.test/p/" in part
        # The footer follows the body, outside any element the body opened.
        assert html.index("</body>") > html.index("https://sender.test/p/") > html.index(greeting)


def test_markdown_converts_structure_and_keeps_expressions_intact() -> None:
    html = formats.to_html(
        "markdown",
        '## Offre {{ contact.attributes.plan | default("Base") }}\n\n| a | b |\n|---|---|\n| x_y | *z* |\n',
    )
    assert '<h2>Offre {{ contact.attributes.plan | default("Base") }}</h2>' in html
    assert "<table>" in html and "<td>x_y</td>" in html and "<em>z</em>" in html


def test_richtext_alignment_becomes_a_style_the_sanitiser_keeps() -> None:
    html = formats.to_html("richtext", '<p class="ql-align-center">Centré</p>')
    assert html == '<p style="text-align:center">Centré</p>'


def test_invalid_mjml_is_refused_at_the_source() -> None:
    with pytest.raises(ValidationFailed) as refused:
        formats.to_html("mjml", "<mjml><mj-body><mj-section>")
    assert list(refused.value.errors) == ["body_source"]


def test_the_plain_text_is_derived_from_what_a_reader_sees() -> None:
    text = formats.plain_text(
        '<h1>Bonjour {{ contact.first_name | default("ami") }}</h1><p>Voir <a href="https://e.test/o">'
        "l'offre</a>.</p><script>hidden()</script>"
    )
    assert 'Bonjour {{ contact.first_name | default("ami") }}' in text
    assert "[l'offre](https://e.test/o)" in text
    assert "hidden" not in text


def test_a_text_written_by_hand_is_kept_and_a_derived_one_follows_the_body(db_session: Session) -> None:
    purpose = PurposeFactory()
    common = {"name": "n", "purpose": purpose.slug, "subject": "s", "body_format": "markdown"}
    kept = CampaignDraft.parse({**common, "body_source": "# Un", "body_text": "Mon texte"})
    assert kept.body_text == "Mon texte"
    derived = CampaignDraft.parse(
        {**common, "body_source": "# Deux", "body_text": "x", "body_text_derived": True}
    )
    assert derived.body_text.strip() == "# Deux"


@pytest.mark.parametrize(
    ("source", "from_format", "to_format", "expected"),
    [
        ("# Titre\n\n*mot*", "markdown", "richtext", "<h1>Titre</h1>\n<p><em>mot</em></p>"),
        ("<h1>Titre</h1><p><em>mot</em></p>", "richtext", "markdown", "# Titre\n\n_mot_\n"),
        ("<p>Un</p>", "richtext", "html", "<p>Un</p>"),
    ],
)
def test_switching_formats_converts_on_the_server(
    source: str, from_format: str, to_format: str, expected: str
) -> None:
    converted = formats.convert(source, from_format, to_format)
    assert [line.strip() for line in converted.strip().splitlines()] == expected.strip().splitlines()


def test_switching_to_mjml_wraps_the_body_in_a_layout_that_compiles() -> None:
    wrapped = formats.convert("# Titre", "markdown", "mjml")
    assert "<mj-text>" in wrapped
    assert "<h1>Titre</h1>" in formats.to_html("mjml", wrapped)


@pytest.mark.parametrize("value", [None, "", "  "])
def test_default_gives_the_fallback_for_a_missing_or_empty_field(value: str | None) -> None:
    template = compile_template('Bonjour {{ contact.first_name | default("ami") }}', html=True)
    person = TemplateContact(value, "", "", "", {})  # type: ignore[arg-type]
    assert template.render(contact=person) == "Bonjour ami"
    assert (
        compile_template("{{ contact.attributes.city | d('Paris') }}", html=False).render(contact=person)
        == "Paris"
    )


def test_fields_missing_for_part_of_the_audience_are_counted(db_session: Session) -> None:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    lst = ListFactory()
    people = [
        ContactFactory(first_name="Léa", last_name=None, attributes={"city": "Lyon"}),
        ContactFactory(first_name="", last_name="", attributes={}),
        ContactFactory(first_name=None, last_name=None, attributes={"city": " "}),
    ]
    refused = ContactFactory(first_name=None)  # no consent: not in the audience, not counted
    for person in people:
        grant(db_session, person, purpose)
    for person in (*people, refused):
        db_session.add(ListMember(list_id=lst.id, contact_id=person.id))
    campaign = CampaignFactory(
        purpose_id=purpose.id,
        lists=[lst],
        subject="Pour {{ contact.first_name }}",
        body_html='<p>{{ contact.first_name | default("ami") }} à {{ contact.attributes.city }}</p>',
        body_text="{{ contact.last_name | default('') }}",
    )
    db_session.flush()
    found = {gap.name: (gap.missing, gap.fallback) for gap in field_gaps.gaps(db_session, campaign)}
    assert found == {"first_name": (2, False), "attributes.city": (2, False), "last_name": (3, True)}
