"""Save screenshots of the main staff pages under docs/screenshots/ (for the README).

Builds a throwaway instance (SQLite, embedded Redis) with demo data, serves it on a free local port and drives
headless Chromium through Playwright, at desktop width and at a 390 px phone width:

    python scripts/screenshots.py [--chromium /usr/bin/chromium] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from sender import create_app
from sender.config import load_settings
from sender.db import utcnow
from sender.migrate import upgrade
from sender.models import Campaign, ContactTag, Delivery, ListMember, OrganisationSettings, Segment, Template
from sender.runtime import build_runtime
from sender.services.accounts import users
from sender.services.audience import contacts, lists
from sender.services.composer import templates
from sender.services.consent import ledger, purposes
from sender.services.messages import formats

PASSWORD = "demo password 0123"  # noqa: S105 (a throwaway demo instance)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
PHONE = {"width": 390, "height": 844}
# The draft's body, as the rich-text editor writes it: a heading, a field and an attribute with their
# fallbacks, bold text and a list.
DRAFT_RICHTEXT = (
    "<h1>Season's greetings</h1>"
    '<p>Hello {{ contact.first_name | default("ami") }}, our {{ contact.attributes.city | default("local") }} '
    "shop opens on <strong>Sunday</strong> from 10 am.</p>"
    "<ul><li>New winter collection</li><li>Free coffee all day</li></ul>"
)
PEOPLE = [
    ("jeanne.dupont@example.org", "Jeanne", "Dupont", "+33612345678"),
    ("paul.martin@example.org", "Paul", "Martin", None),
    ("louise.bernard@example.org", "Louise", "Bernard", "+33698765432"),
    ("hugo.thomas@example.org", "Hugo", "Thomas", None),
    ("lea.petit@example.org", "Léa", "Petit", None),
    ("jules.robert@example.org", "Jules", "Robert", "+33611223344"),
]


def seed(runtime: object) -> dict[str, str]:
    """Demo data: organisation, users, a purpose with two wordings, contacts, a list, a segment, campaigns."""
    settings = runtime.settings  # type: ignore[attr-defined]
    with runtime.Session() as s:  # type: ignore[attr-defined]
        s.add(OrganisationSettings(id=1, legal_name="Exemple SAS", postal_address="1 rue de la Paix, 75002 Paris",
                                   contact_email="contact@example.org", dpo_contact="dpo@example.org",
                                   sender_address="news@example.org", default_locale="en", timezone="Europe/Paris"))  # fmt: skip
        users.create_user(s, "marie@example.org", "marketer", PASSWORD)
        users.create_user(s, "admin@example.org", "admin", PASSWORD)
        news = purposes.create(s, {"slug": "newsletter", "name": "Monthly newsletter",
                                   "description": "News about our shops, once a month."}, "demo")  # fmt: skip
        purposes.add_wording(
            s, "newsletter", {"text": "Yes, send me the monthly newsletter by email."}, "demo"
        )
        purposes.add_wording(
            s, "newsletter", {"text": "Yes, send me the monthly newsletter (unsubscribe any time)."}, "demo"
        )
        customers = lists.create(
            s, {"name": "Customers", "description": "Bought in the last two years"}, "demo"
        )
        made = []
        for i, (email, first, last, phone) in enumerate(PEOPLE):
            c = contacts.create(s, settings, {"email": email, "first_name": first, "last_name": last,
                                              "phone": phone, "source": "form"}, "demo")  # fmt: skip
            c.attributes = {
                "city": ("Lyon", "Paris", "Lille")[i % 3],
                "loyalty_level": ("gold", "silver")[i % 2],
            }
            made.append(c)
            s.add(ListMember(list_id=customers.id, contact_id=c.id))
            if i % 2 == 0:
                s.add(ContactTag(contact_id=c.id, tag="vip"))
            if i != 1:
                ledger.record(s, c, news, channel="email", action="grant", source="form", mechanism="checkbox",
                              actor="demo", wording_version=1 + i % 2, collection_point="website footer")  # fmt: skip
        ledger.record(s, made[3], news, channel="email", action="withdraw", source="unsubscribe_page",
                      mechanism="link", actor="contact")  # fmt: skip
        s.add(Segment(name="VIP customers", description="Tagged vip, newsletter granted",
                      rules={"groups": [{"tags": ["vip"], "consent": {"purpose": "newsletter", "channel": "email", "state": "granted"}}]}))  # fmt: skip
        now = utcnow()
        body = "Hello {{ contact.first_name }},\n\nour Lyon shop opens on Sunday.\n"
        sent = Campaign(name="November news", purpose_id=news.id, channel="email", subject="News for you, {{ contact.first_name }}",
                        body_text=body, body_html="<p>Hello {{ contact.first_name }},</p><p>our Lyon shop opens on Sunday.</p>",
                        status="sending", launched_at=now - timedelta(minutes=3), lists=[customers])  # fmt: skip
        templates.ensure_built_ins(s)
        newsletter = s.scalars(select(Template).where(Template.key == "newsletter")).one()
        # Converted as the composer saves it (formats.py); the seed skips the sandbox's timed check.
        html_part, text_part = formats.parts("richtext", DRAFT_RICHTEXT, "", text_derived=True)
        draft = Campaign(name="December news", purpose_id=news.id, channel="email", status="draft", lists=[customers],
                         subject="Season's greetings, {{ contact.first_name }}", body_format="richtext",
                         body_source=DRAFT_RICHTEXT, body_html=html_part, body_text=text_part, body_text_derived=True,
                         template_id=newsletter.id)  # fmt: skip
        s.add_all([sent, draft])
        s.flush()
        for i, c in enumerate(made):
            status, reason = ("skipped", "no_consent") if i == 1 else ("skipped", "withdrawn") if i == 3 else (
                ("sent", None) if i < 4 else ("queued", None))  # fmt: skip
            s.add(Delivery(campaign_id=sent.id, contact_id=c.id, status=status, reason=reason,
                           sent_at=now if status == "sent" else None))  # fmt: skip
        s.commit()
        return {
            "contact": made[0].public_id,
            "sent": str(sent.id),
            "draft": str(draft.id),
            "list": str(customers.id),
        }


def sign_in(page: object) -> None:
    """Sign in as the demo admin."""
    page.goto("/admin/signin")  # type: ignore[attr-defined]
    page.get_by_label("Email").fill("admin@example.org")  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/admin/")  # type: ignore[attr-defined]


def preview_shows(page: object, text: str) -> None:
    """Wait until the live preview shows the text; a preview refused as too slow (a busy machine) is asked again."""
    for _attempt in range(6):
        try:
            page.frame_locator("#preview-html").get_by_text(text).wait_for(timeout=20_000)  # type: ignore[attr-defined]
            return
        except PlaywrightTimeout:
            page.locator("#preview-sample").dispatch_event("input")  # type: ignore[attr-defined]
    raise SystemExit(f"the preview never showed {text!r}")


def compose_rich_text(page: object, list_id: str, path: Path) -> None:
    """A new campaign written in the rich-text editor, a contact field inserted, its live preview beside."""
    page.goto("/admin/campaigns/new")  # type: ignore[attr-defined]
    page.get_by_label("Name (internal)").fill("Spring opening")  # type: ignore[attr-defined]
    page.get_by_label("Purpose").select_option("newsletter")  # type: ignore[attr-defined]
    page.get_by_label("Lists").select_option(list_id)  # type: ignore[attr-defined]
    page.get_by_label("Subject").fill('Spring is here, {{ contact.first_name | default("ami") }}')  # type: ignore[attr-defined]
    page.locator(".ql-editor").click()  # type: ignore[attr-defined]
    keys = page.keyboard  # type: ignore[attr-defined]
    keys.type("Hello ")
    page.get_by_label("Insert a contact field").select_option(index=1)  # type: ignore[attr-defined]
    keys.type(",\nOur shops open on ")
    page.get_by_role("button", name="bold").click()  # type: ignore[attr-defined]
    keys.type("Sunday")
    page.get_by_role("button", name="bold").click()  # type: ignore[attr-defined]
    keys.type(" from 10 am.\n")
    page.get_by_role("button", name="list: bullet").click()  # type: ignore[attr-defined]
    keys.type("New spring collection\nFree coffee all day")
    page.get_by_label("390 px (phone)").check()  # type: ignore[attr-defined]
    preview_shows(page, "Free coffee all day")
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]  # the frame's last reload
    preview_shows(page, "Free coffee all day")
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    print(path)


def compose_templated(page: object, draft_id: str, path: Path) -> None:
    """A rich-text draft in the Newsletter template, its live preview at a phone's 390 px."""
    page.goto(f"/admin/campaigns/{draft_id}/edit")  # type: ignore[attr-defined]
    page.get_by_label("390 px (phone)").check()  # type: ignore[attr-defined]
    preview_shows(page, "Free coffee all day")
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]  # the frame's last reload
    preview_shows(page, "Free coffee all day")
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    print(path)


def main() -> None:
    """Serve a demo instance and photograph its pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    instance = tempfile.mkdtemp(prefix="sender-screens-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = load_settings({"INSTANCE_PATH": instance, "PUBLIC_BASE_URL": base})
    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    ids = seed(runtime)
    server = make_server("127.0.0.1", port, create_app(runtime=runtime), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shots = [
        ("dashboard", "/admin/"),
        ("contacts", "/admin/contacts"),
        ("contact", f"/admin/contacts/{ids['contact']}"),
        ("lists", "/admin/lists"),
        ("campaign-report", f"/admin/campaigns/{ids['sent']}"),
        ("purpose", "/admin/purposes/newsletter"),
        ("organisation", "/admin/organisation"),
        ("templates", "/admin/templates"),
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
        page = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900}).new_page()
        page.goto("/admin/signin")
        page.screenshot(path=str(out / "signin.png"))
        sign_in(page)
        for name, url in shots:
            page.goto(url)
            page.wait_for_timeout(1200)  # live preview and progress scripts
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            print(out / f"{name}.png")
        compose_templated(page, ids["draft"], out / "campaign-compose.png")
        compose_rich_text(page, ids["list"], out / "campaign-richtext.png")
        # A phone: the folded navigation, then a contact page whose tables scroll in their own boxes.
        phone = browser.new_context(base_url=base, viewport=PHONE, device_scale_factor=2).new_page()
        sign_in(phone)
        phone.goto(f"/admin/contacts/{ids['contact']}")
        phone.screenshot(path=str(out / "phone-contact.png"), full_page=True)
        phone.get_by_text("Menu", exact=True).click()
        phone.screenshot(path=str(out / "phone-menu.png"))
        print(out / "phone-contact.png", out / "phone-menu.png")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
