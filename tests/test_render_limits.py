"""Per-message render limits, read-only contact data and the HTML allow-list (issue 7, findings 1-3 and 10)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.models import Campaign, Contact, Purpose
from sender.runtime import Runtime
from sender.services.messages.rendering import EmailRenderer
from sender.services.messages.sandbox import (
    ExitLinksMissing,
    RenderLimitExceeded,
    check_exits,
    compile_template,
    template_contact,
)
from sender.services.messages.sanitise import sanitise_html
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

# Harmless for the sample contact validation renders with (Camille), over a limit for anyone else.
NOT_THE_SAMPLE = "{% if contact.first_name != 'Camille' %}{0}{% endif %}"


@pytest.fixture
def purpose(db_session: Session) -> Purpose:
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    return purpose


@pytest.fixture
def jeanne(db_session: Session) -> Contact:
    return ContactFactory(first_name="Jeanne", attributes={"plan": "Premium", "tags": ["a", "b"]})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{{ b }}{% endfor %}{% endfor %}",
            "rendering needs more than 100,000 steps (loop iterations, calls, operations) (limit)",
        ),
        (
            "{% for i in 'x' * 2000 %}{{ 'y' * 1000 }}{% endfor %}",
            "renders to more than 1,000,000 characters (limit)",
        ),
        ("{{ contact.first_name * 1000000 }}", "builds a value of more than 1,000,000 characters (limit)"),
    ],
)
def test_a_message_over_a_limit_raises_render_limit_exceeded(
    settings: Settings, runtime: Runtime, purpose: Purpose, jeanne: Contact, body: str, message: str
) -> None:
    source = NOT_THE_SAMPLE.replace("{0}", body)
    campaign: Campaign = CampaignFactory(purpose_id=purpose.id, body_text="Hi", body_html=source)
    EmailRenderer(settings, runtime.tokens, campaign, purpose)  # the campaign passed validation
    template = compile_template(source, html=True)  # what the renderer runs for each message

    with pytest.raises(RenderLimitExceeded) as caught:
        template.render(contact=template_contact(jeanne))

    # The send loop records this as the message's reason: it names the limit, never the person's data.
    assert str(caught.value) == message
    camille = ContactFactory(first_name="Camille")
    assert template.render(contact=template_contact(camille)) == ""  # the next message renders


def test_contact_data_is_a_read_only_copy(jeanne: Contact) -> None:
    view = template_contact(jeanne)
    with pytest.raises(TypeError):
        view.attributes["plan"] = "Free"  # type: ignore[index]
    with pytest.raises(AttributeError):
        view.attributes["tags"].append("c")
    rendered = compile_template(
        "{{ contact.attributes.tags|join(',') }} {{ contact.attributes|tojson }}", html=False
    ).render(contact=view)
    assert rendered == 'a,b {"plan": "Premium", "tags": ["a", "b"]}'
    assert jeanne.attributes == {"plan": "Premium", "tags": ["a", "b"]}


def test_everyday_filters_and_statements_still_render(jeanne: Contact) -> None:
    source = (
        "{{ contact.attributes.tags|join(', ') }}|{{ contact.attributes.tags|map('upper')|join('/') }}|"
        "{{ contact.attributes.tags|sort|reverse|list|length }}|{{ 'one two three'|wordwrap(5)|indent(2) }}|"
        "{{ '%.2f €'|format(12.5) }}|{{ '{:>4}'.format(7) }}|{{ contact.first_name|replace('J', 'G') }}|"
        "{{ contact.attributes|dictsort|first|first }}|{{ [1, 2, 3]|sum }}|{{ 'ab' * 2 }}|{{ 2 ** 10 }}|"
        "{{ contact.first_name ~ '!' }}|{% for t in contact.attributes.tags %}{{ loop.index }}{{ t }}{% endfor %}|"
        "{% macro b(x) %}<{{ x }}>{% endmacro %}{{ b(contact.locale) }}|{{ 'x'|center(5) }}"
    )
    rendered = compile_template(source, html=False).render(contact=template_contact(jeanne))
    assert rendered == (
        "a, b|A/B|2|one\n  two\n  three|12.50 €|   7|Geanne|plan|6|abab|1024|Jeanne!|1a2b|<fr>|  x  "
    )


@pytest.mark.parametrize(
    ("html", "sanitised"),
    [
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<a href=" JavaScript:alert(1)">x</a>', '<a rel="noopener noreferrer">x</a>'),
        ('<a href="/relative">x</a>', '<a rel="noopener noreferrer">x</a>'),
        (
            '<a href="https://shop.example.org/?a=1&amp;b=2">x</a>',
            '<a href="https://shop.example.org/?a=1&amp;b=2" rel="noopener noreferrer">x</a>',
        ),
        (
            '<a href="mailto:shop@example.org">x</a>',
            '<a href="mailto:shop@example.org" rel="noopener noreferrer">x</a>',
        ),
        ('<img src="data:image/png;base64,AAAA" alt="a">', '<img alt="a">'),
        ('<div hidden title="t">x</div>', '<div title="t">x</div>'),
        (
            '<p style="display:none;visibility:hidden;opacity:0;position:fixed;color:red;font-weight:bold">x</p>',
            '<p style="color:red;font-weight:bold">x</p>',
        ),
        ("<style>p { display: none }</style><p>x</p>", "<p>x</p>"),
        ("<p>x</p><!-- hidden from here on <p>y</p>", "<p>x</p>"),
        ("<details><summary>s</summary>x</details>", "sx"),
        ("<html><head><title>T</title></head><body><h1>H</h1></body></html>", "<h1>H</h1>"),
        ("<table><tr><td>open", "<table><tbody><tr><td>open</td></tr></tbody></table>"),
        ('<p onclick="x()" class="c" id="i">x</p>', "<p>x</p>"),
    ],
)
def test_the_html_allow_list(html: str, sanitised: str) -> None:
    assert sanitise_html(html) == sanitised


def test_a_message_missing_an_exit_is_refused() -> None:
    url = "https://sender.test/u/token?a=1&b=2"
    check_exits(f"text {url}", '<a href="https://sender.test/u/token?a=1&amp;b=2">x</a> ', [url])
    with pytest.raises(ExitLinksMissing, match="text part"):
        check_exits("text", f'<a href="{url}">', [url])
    with pytest.raises(ExitLinksMissing, match="HTML part"):
        check_exits(f"text {url}", "<p>no link</p>", [url])


@pytest.mark.parametrize(
    ("html", "sanitised"),
    [
        # Issue 15, item 4: each length over its bound goes, its neighbours stay (the browser test measures).
        ('<p style="padding-bottom:100000px;color:red">x</p>', '<p style="color:red">x</p>'),
        (
            '<img src="https://a.example/i.png" height="100000" width="600">',
            '<img src="https://a.example/i.png" width="600">',
        ),
        ('<p style="line-height:100000;font-size:2em">x</p>', "<p>x</p>"),
        ('<p style="padding-bottom:calc(1px * 100000);padding-top:1e5px">x</p>', "<p>x</p>"),
        (
            '<table cellpadding="100000" border="1"><tr><td>x</td></tr></table>',
            '<table border="1"><tbody><tr><td>x</td></tr></tbody></table>',
        ),
        (
            "<p style=\"font-family:'Helvetica Neue', Arial;border-top:1px solid #cccccc;padding:10px 20px;"
            'line-height:1.5;font-size:14px;color:rgb(10, 20, 30)">x</p>',
            '<p style="font-family:&quot;Helvetica Neue&quot; , Arial;border-top:1px solid #cccccc;'
            'padding:10px 20px;line-height:1.5;font-size:14px;color:rgb(10, 20, 30)">x</p>',
        ),
    ],
)
def test_lengths_over_their_bound_are_dropped_and_everyday_styles_kept(html: str, sanitised: str) -> None:
    assert sanitise_html(html) == sanitised
