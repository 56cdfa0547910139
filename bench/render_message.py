"""Benchmark: what the render limits and the HTML allow-list cost per message, and how fast hostile templates stop.

Prints, for a 2 KB newsletter: microseconds per message for the stock Jinja2 sandbox, the bounded sandbox,
and the bounded sandbox plus nh3 sanitising and footer composition; then the CPU time of a whole message as
a send worker makes it (MessageRenderer.render: templates, footer, two signed links, MIME bytes), for the
newsletter of bench/send_campaign.py; then the time each hostile template of issue 7 takes to be refused at
save time. No database or Redis is needed.

    python bench/render_message.py
    python bench/render_message.py --messages 5000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import MappingProxyType

from jinja2.sandbox import SandboxedEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sender.services.errors import ValidationFailed
from sender.services.messages.sandbox import (
    TemplateContact,
    compile_template,
    insert_footer,
    validate_content,
)

NEWSLETTER = (
    "<h1>Bonjour {{ contact.first_name }} !</h1>"
    + "<p>Nos nouveautés de décembre, choisies pour vous : {{ contact.attributes.plan }}.</p>" * 30
    + '<table width="600">{% for tag in contact.attributes.tags %}'
    '<tr><td style="color:#333">{{ loop.index }}. {{ tag|title }}</td></tr>{% endfor %}</table>'
    '<p><a href="https://shop.example.org/?c={{ contact.country|lower }}">La boutique</a></p>'
)
SUBJECT = "Décembre chez nous, {{ contact.first_name }}"
TEXT = "Bonjour {{ contact.first_name }},\n" + "Nos nouveautés de décembre.\n" * 30
FOOTER = '<div role="contentinfo"><p><a href="https://sender.test/u/x">Se désinscrire</a></p></div>'
HOSTILE = {
    "three nested loops of 1,000": (
        "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}{% for c in 'x' * 1000 %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    ),
    "'x' * 10000 * 10000": "{{ 'x' * 10000 * 10000 }}",
    "99**99**99**99**99": "{{ 99**99**99**99**99 }}",
    "processor time": "{% set s = 'ab' * 400000 %}{% for i in 'x' * 5000 %}{{ s.count('b') }}{% endfor %}",
    "output of 2,000,000 characters": "{% for i in 'x' * 2000 %}{{ 'y' * 1000 }}{% endfor %}",
}


def _per_message(render: object, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        render()  # type: ignore[operator]
    return (time.perf_counter() - start) / count * 1e6


def whole_message_cpu(count: int) -> float:
    """CPU µs per message of MessageRenderer.render for send_campaign.py's newsletter, on unsaved rows."""
    from bench.send_campaign import BODY_HTML, BODY_TEXT
    from sender.config import load_settings
    from sender.models import Campaign, Contact, Purpose
    from sender.services.messages.rendering import MessageRenderer
    from sender.tokens import TokenService

    settings = load_settings(
        {
            "DATABASE_URL": "sqlite://",
            "SECRET_KEYS": "bench-secret-key-0123456789",
            "HASH_KEY": "bench-hash-key-0123456789",
            "PUBLIC_BASE_URL": "https://sender.example",
            "ORG_NAME": "Exemple SAS",
            "ORG_ADDRESS": "1 rue de la Paix, 75002 Paris",
            "ORG_CONTACT_EMAIL": "contact@exemple.example",
            "EMAIL_FROM": "news@exemple.example",
        }
    )
    purpose = Purpose(id=1, slug="newsletter", name="Newsletter", description="Our monthly news.")
    campaign = Campaign(
        id=1,
        purpose_id=1,
        channel="email",
        kind="marketing",
        subject="Nouvelles de décembre, {{ contact.first_name }}",
        body_text=BODY_TEXT,
        body_html=BODY_HTML,
    )
    renderer = MessageRenderer(settings, TokenService(settings.secret_keys), campaign, purpose)
    contacts = [
        Contact(id=i, email=f"person{i}@bench.example", first_name=f"Prénom{i}", public_id=f"{i:022d}")
        for i in range(count)
    ]
    for contact in contacts[:50]:  # footers per language, first calls
        renderer.render(contact, contact.id)
    start = time.process_time()
    for contact in contacts:
        renderer.render(contact, contact.id)
    return (time.process_time() - start) / count * 1e6


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    count = parser.parse_args().messages
    contact = TemplateContact(
        "Camille", "Martin", "fr", "FR", MappingProxyType({"plan": "Premium", "tags": ("a", "b", "c", "d")})
    )
    stock = SandboxedEnvironment(autoescape=True)
    plain = [stock.from_string(s) for s in (SUBJECT, TEXT, NEWSLETTER)]
    bounded = [compile_template(s, html=h) for s, h in ((SUBJECT, False), (TEXT, False), (NEWSLETTER, True))]
    html_size = len(bounded[2].render(contact=contact))

    def stock_render() -> None:
        for template in plain:
            template.render(contact=contact)

    def bounded_render() -> None:
        for template in bounded:
            template.render(contact=contact)

    def full_render() -> None:
        bounded[0].render(contact=contact)
        bounded[1].render(contact=contact)
        insert_footer(bounded[2].render(contact=contact), FOOTER)

    print(f"newsletter: {html_size:,} characters of HTML, {count:,} messages")
    print(f"{'stock Jinja2 sandbox':<45} {_per_message(stock_render, count):8.0f} µs/message")
    print(f"{'bounded sandbox':<45} {_per_message(bounded_render, count):8.0f} µs/message")
    print(f"{'bounded sandbox + nh3 + footer':<45} {_per_message(full_render, count):8.0f} µs/message")
    print(f"{'whole message (MessageRenderer.render), CPU':<45} {whole_message_cpu(count):8.0f} µs/message")
    print()
    for name, source in HOSTILE.items():
        start = time.perf_counter()
        try:
            validate_content("s", "<p>x</p>", source)
            outcome = "accepted"
        except ValidationFailed as exc:
            outcome = exc.errors["body_text"]
        print(f"{name:<33} refused in {(time.perf_counter() - start) * 1000:6.1f} ms: {outcome}")


if __name__ == "__main__":
    main()
