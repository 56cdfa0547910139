"""Rendering campaign emails: sandboxed content, system footer, RFC 8058 headers, signed links."""

from __future__ import annotations

import base64
import email
import json
import re
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.channels.base import get_channel
from sender.channels.email.smtp import SmtpTransport
from sender.config import Settings
from sender.models import Campaign, ConsentEvent, Contact, Purpose
from sender.runtime import Runtime
from sender.services.errors import ValidationFailed
from sender.services.messages.rendering import EmailRenderer, check_sender_identity, validate_content
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory
from tests.smtp_server import SmtpTestServer, smtp_server

__all__ = ["smtp_server"]

HTML = """<!doctype html>
<html><body>
<h1>Bonjour {{ contact.first_name }} !</h1>
<p>Votre offre : {{ contact.attributes.plan }}</p>
</body></html>
"""
TEXT = "Bonjour {{ contact.first_name }} !\nVotre offre : {{ contact.attributes.plan }}"


@pytest.fixture
def purpose(db_session: Session) -> Purpose:
    purpose = PurposeFactory(
        slug="lettre-mensuelle", name="Lettre mensuelle", description="Nos nouvelles, une fois par mois."
    )
    WordingFactory(purpose=purpose)
    return purpose


@pytest.fixture
def campaign(db_session: Session, purpose: Purpose) -> Campaign:
    return CampaignFactory(
        purpose_id=purpose.id, subject="Bonjour {{ contact.first_name }}", body_html=HTML, body_text=TEXT
    )


@pytest.fixture
def contact(db_session: Session) -> Contact:
    return ContactFactory(
        email="camille.martin@example.org",
        phone="+33612345678",
        first_name="Camille",
        attributes={"plan": "Premium"},
    )


def render(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> EmailMessage:
    """Render, serialise as it would travel, and parse back with the email package."""
    message = EmailRenderer(settings, runtime.tokens, campaign, purpose).render(contact, 7)
    parsed: EmailMessage = email.message_from_bytes(message.data, policy=default_policy)
    return parsed


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    # On the wire lines end in CRLF; compare text as Python writes it.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def https_uris(header: str) -> list[str]:
    uris = re.findall(r"<([^>]*)>", header)
    assert ", ".join(f"<{u}>" for u in uris) == " ".join(
        header.split()
    )  # only bracketed URIs, comma-separated
    return [u for u in uris if u.startswith("https:")]


def test_message_has_both_parts_footer_and_headers(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> None:
    message = render(settings, runtime, campaign, purpose, contact)

    assert message.get_content_type() == "multipart/alternative"
    assert str(message["From"]) == "Exemple SAS <news@exemple.test>"
    assert str(message["To"]) == "camille.martin@example.org"
    assert str(message["Subject"]) == "Bonjour Camille"
    assert message["Date"].datetime is not None
    assert re.fullmatch(rf"<d7\.c{campaign.id}\.[0-9a-f]+@exemple\.test>", str(message["Message-ID"]))
    (unsubscribe,) = https_uris(str(message["List-Unsubscribe"]))
    assert unsubscribe.startswith("https://sender.test/u/")
    assert "<mailto:contact@exemple.test?subject=unsubscribe>" in str(message["List-Unsubscribe"])
    assert message.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    assert str(message["List-Id"]) == "Lettre mensuelle <lettre-mensuelle.lists.sender.test>"

    text, html = bodies(message)
    assert "Bonjour Camille !" in text and "Votre offre : Premium" in text
    assert "<h1>Bonjour Camille !</h1>" in html
    for part in (text, html):
        for expected in (
            "Exemple SAS",
            "1 rue de la Paix, 75002 Paris, France",
            "Lettre mensuelle",
            "Nos nouvelles, une fois par mois.",
            unsubscribe,
            "https://sender.test/p/",
            "dpo@exemple.test",
            "article 21",
        ):
            assert expected in part, (expected, part)
    # The footer sits inside the document, before </body>.
    assert html.index("https://sender.test/p/") < html.index("</body>")


def test_links_and_tokens_carry_no_address(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> None:
    message = render(settings, runtime, campaign, purpose, contact)
    text, html = bodies(message)
    urls = set(re.findall(r"https://\S+?(?=[\s\"<>])", text + " " + html))

    assert len(urls) == 2
    for url in urls:
        token = url.rsplit("/", 1)[1]
        payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
        assert json.loads(payload)["c"] == contact.public_id
        for secret in ("@", "camille", "example.org", "+33", "612345678"):
            assert secret not in payload and secret not in url


def test_the_header_link_unsubscribes_with_one_click(
    settings: Settings,
    runtime: Runtime,
    client: FlaskClient,
    db_session: Session,
    campaign: Campaign,
    purpose: Purpose,
    contact: Contact,
) -> None:
    message = render(settings, runtime, campaign, purpose, contact)
    (url,) = https_uris(str(message["List-Unsubscribe"]))

    response = client.post(url.removeprefix(settings.public_base_url), data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    event = db_session.scalar(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id))
    assert event is not None
    assert (event.action, event.purpose_id, event.channel) == ("withdraw", purpose.id, "email")
    assert event.collection_point == f"campaign:{campaign.id}"


def test_headers_survive_smtp_intact(
    settings: Settings,
    runtime: Runtime,
    smtp_server: SmtpTestServer,
    campaign: Campaign,
    purpose: Purpose,
    contact: Contact,
) -> None:
    purpose.name = "Actualités et événements de l'entreprise, chaque mois, avec un nom très long"
    renderer = EmailRenderer(settings, runtime.tokens, campaign, purpose)
    sent = renderer.render(contact, 8)
    with SmtpTransport(smtp_server.url) as transport:
        assert transport.send(sent).outcome == "sent"

    (received,) = smtp_server.messages
    raw_header = re.search(rb"List-Unsubscribe: (.*?)\r\n(?! )", received.data, re.S)
    assert raw_header is not None and b"=?" not in raw_header.group(1)  # never RFC 2047-encoded
    got = received.message()
    assert received.data.replace(b"\r\n", b"\n") == sent.data.replace(b"\r\n", b"\n")
    assert str(got["List-Unsubscribe"]) == str(sent.message()["List-Unsubscribe"])
    assert str(got["List-Id"]).startswith("Actualités et événements")
    assert bodies(got)[0] == bodies(sent.message())[0]


def test_an_idn_domain_is_written_as_idna_in_the_envelope_and_headers(
    settings: Settings,
    runtime: Runtime,
    smtp_server: SmtpTestServer,
    campaign: Campaign,
    purpose: Purpose,
    contact: Contact,
) -> None:
    # Issue 15, item 17: the test server has no SMTPUTF8, as many relays; an ASCII local part needs none.
    contact.email = "camille@exämple.fr"
    settings = settings.with_overrides(email_from="news@exémple.test")
    sent = EmailRenderer(settings, runtime.tokens, campaign, purpose).render(contact, 9)

    with SmtpTransport(smtp_server.url) as transport:
        assert transport.send(sent).outcome == "sent"

    (received,) = smtp_server.messages
    assert (received.mail_from, received.rcpt_tos) == (
        "news@xn--exmple-cva.test",
        ["camille@xn--exmple-cua.fr"],
    )
    head = received.data.split(b"\r\n\r\n")[0]
    assert head.isascii()  # Message-ID and List-Id too: nothing here needs SMTPUTF8
    assert b"\r\nTo: camille@xn--exmple-cua.fr\r\n" in head
    assert received.message()["From"].addresses[0].addr_spec == "news@xn--exmple-cva.test"


def test_marketer_html_escapes_contact_fields_and_text_does_not(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> None:
    contact.first_name = '<script>alert("x")</script>'
    contact.attributes = {"plan": "<b>Gold</b>"}

    text, html = bodies(render(settings, runtime, campaign, purpose, contact))

    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;Gold&lt;/b&gt;" in html
    assert '<script>alert("x")</script>' in text


def test_missing_values_render_empty_and_subject_stays_one_line(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> None:
    contact.first_name = "Camille\r\nBcc: someone@example.net"
    contact.attributes = {}

    message = render(settings, runtime, campaign, purpose, contact)

    assert str(message["Subject"]) == "Bonjour Camille Bcc: someone@example.net"
    assert message["Bcc"] is None
    text, _ = bodies(message)
    assert "Votre offre : \n" in text and "None" not in text


def test_each_message_gets_its_own_message_id(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> None:
    renderer = EmailRenderer(settings, runtime.tokens, campaign, purpose)
    ids = {renderer.render(contact, n).message_id for n in range(50)}
    assert len(ids) == 50


def test_legal_notice_identifies_the_sender_without_unsubscribe_headers(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose, contact: Contact
) -> None:
    campaign.kind = "legal_notice"

    message = render(settings, runtime, campaign, purpose, contact)

    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    for part in bodies(message):
        assert "Exemple SAS" in part and "1 rue de la Paix" in part and "https://sender.test/p/" in part
        assert "/u/" not in part


def test_sender_identity_is_required(settings: Settings) -> None:
    email = get_channel("email")
    check_sender_identity(settings, email)
    with pytest.raises(ValidationFailed) as caught:
        check_sender_identity(
            settings.with_overrides(org_name=" ", org_address="", email_from="nobody"), email
        )
    assert set(caught.value.errors) == {"ORG_NAME", "ORG_ADDRESS", "EMAIL_FROM"}


def errors_of(subject: str = "Hello", html: str = "<p>Hi</p>", text: str = "Hi") -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_content(subject, html, text)
    return caught.value.errors


def test_valid_content_passes() -> None:
    validate_content(
        "Bonjour {{ contact.first_name|default('vous') }}",
        HTML + "{% if contact.country == 'FR' %}<p>Salut</p>{% endif %}"
        "{% for k, v in contact.attributes.items() %}{{ k }}{% endfor %}",
        TEXT + "\n{% set x = contact.last_name|upper %}{{ x }}",
    )


@pytest.mark.parametrize(
    ("field", "source", "expected"),
    [
        ("body_html", "<p>ok</p>\n<p>{% if contact.first_name %}</p>", "line 2: "),
        ("body_text", "one\ntwo\n{{ contact.first_name ", "line 3: "),
        ("body_text", "line one\n{# a comment never closed", "line 2: Missing end of comment tag"),
        ("subject", "Hi {{ contact.first_name }", "line 1: "),
    ],
)
def test_syntax_errors_name_the_line(field: str, source: str, expected: str) -> None:
    errors = errors_of(**{{"subject": "subject", "body_html": "html", "body_text": "text"}[field]: source})
    assert list(errors) == [field]
    assert errors[field].startswith(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Hi\n\n{{ user.name }}", "line 3: unknown name 'user'"),
        ("{{ range(10) }}", "line 1: unknown name 'range'"),
        ("Hi\n{{ contact.email }}", "line 2: 'contact' has no attribute 'email'"),
        ("{{ contact.phone }}", "line 1: 'contact' has no attribute 'phone'"),
        ("x\n{{ contact.__class__ }}", "line 2: access to attribute '__class__'"),
        ("{{ contact.first_name.__class__.__mro__ }}", "line 1: access to attribute '__class__'"),
        ("{{ 'x' * 100000000 }}", "line 1: builds a value of more than 1,000,000 characters (limit)"),
        ("{{ 2 ** 100000 }}", "line 1: builds a number of more than 4,096 bits (limit)"),
    ],
)
def test_unknown_names_and_unsafe_access_are_refused(source: str, expected: str) -> None:
    errors = errors_of(text=source)
    assert errors["body_text"].startswith(expected), errors


def test_html_cannot_switch_off_escaping() -> None:
    assert errors_of(html="{{ contact.first_name|safe }}") == {"body_html": "line 1: No filter named 'safe'."}
    assert errors_of(html="x\n{% autoescape false %}{{ contact.first_name }}{% endautoescape %}") == {
        "body_html": "line 2: autoescaping cannot be turned off"
    }


@pytest.mark.parametrize(
    "html",
    [
        "<p>Hi</p><!-- the rest is hidden",
        "<p>Hi</p><style>p { color: red }",
        "<p>Hi</p><script>",
        "<html><head><title>Newsletter</head><body>Hi</body></html>",
        '<p>Hi</p><a href="https://example.org',
        "<p>Hi</p><textarea>",
        "<p>Hi</p><template><p>later",
        "<p>Hi</p><plaintext>",
    ],
)
def test_markup_that_would_swallow_the_footer_is_refused(html: str) -> None:
    assert "would hide the footer" in errors_of(html=html)["body_html"]


def test_subject_must_be_one_line() -> None:
    assert errors_of(subject="Hello\n{{ contact.first_name }}") == {
        "subject": "line 2: the subject must fit on one line"
    }


def test_renderer_refuses_invalid_content(
    settings: Settings, runtime: Runtime, campaign: Campaign, purpose: Purpose
) -> None:
    campaign.body_text = "{{ contact.email }}"
    with pytest.raises(ValidationFailed):
        EmailRenderer(settings, runtime.tokens, campaign, purpose)
