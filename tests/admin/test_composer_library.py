"""The template library, images and campaign copies on the staff pages (issue 19, items 2, 3 and 5)."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.models import Campaign, Media, Template
from sender.runtime import Runtime
from sender.services.composer import templates
from tests.admin.conftest import post
from tests.factories import CampaignFactory, ListFactory, PurposeFactory

ClientAs = Callable[[str], FlaskClient]
LIBRARY = "/admin/templates"


def _template(db_session: Session, layout: str = "<div>{{ content }}</div>") -> Template:
    template = Template(name="Ours", layout_html=layout, layout_text="== {{ content }} ==")
    db_session.add(template)
    db_session.commit()
    return template


def _field_error(body: str, field: str) -> str:
    match = re.search(rf'<span class="error" id="{field}-error">([^<]*)</span>', body)
    assert match, f"no error at {field}"
    return match.group(1)


def test_the_library_ships_three_previewable_built_in_templates(
    client_as: ClientAs, db_session: Session
) -> None:
    client = client_as("dpo")
    page = client.get(LIBRARY).get_data(as_text=True)
    for key in ("newsletter", "announcement", "letter"):
        assert f'data-template="{key}"' in page
    built_in = db_session.scalars(select(Template).where(Template.built_in)).all()
    assert sorted(t.key or "" for t in built_in) == ["announcement", "letter", "newsletter"]
    for template in built_in:
        shown = client.get(f"{LIBRARY}/{template.id}/message.html")
        assert shown.status_code == 200
        html = shown.get_data(as_text=True)
        # The sample body sits inside the layout, the system footer after it, exits included.
        assert "Spring newsletter" in html and "max-width:600px" in html
        assert html.index("Spring newsletter") < html.index('role="contentinfo"')
        assert "/u/" in html and 'name="color-scheme" content="light only"' in html
    # Listing twice adds nothing.
    client.get(LIBRARY)
    assert len(db_session.scalars(select(Template).where(Template.built_in)).all()) == 3


def test_a_template_is_created_and_a_layout_without_its_slot_is_refused(
    client_as: ClientAs, db_session: Session
) -> None:
    client = client_as("marketer")
    refused = post(
        client,
        f"{LIBRARY}/new",
        {"name": "Mine", "layout_html": "<div>no slot</div>", "layout_text": "{{ content }}"},
        token_page=LIBRARY,
    )
    assert refused.status_code == 422
    assert _field_error(refused.get_data(as_text=True), "layout_html") == (
        "the layout must contain {{ content }} exactly once"
    )
    unknown = post(
        client,
        f"{LIBRARY}/new",
        {"name": "Mine", "layout_html": "<div>{{ contact.email }}{{ content }}</div>", "layout_text": ""},
        token_page=LIBRARY,
    )
    assert "unknown name &#39;contact&#39;" in unknown.get_data(as_text=True)
    hiding = post(
        client,
        f"{LIBRARY}/new",
        {"name": "Mine", "layout_html": "<div>{{ content }}<!-- ", "layout_text": ""},
        token_page=LIBRARY,
    )
    assert "would hide the footer" in _field_error(hiding.get_data(as_text=True), "layout_html")
    assert db_session.scalars(select(Template).where(Template.name == "Mine")).all() == []
    created = post(
        client,
        f"{LIBRARY}/new",
        {"name": "Mine", "layout_html": "<div>{{ content }}</div>", "layout_text": "{{ content }}"},
        token_page=LIBRARY,
    )
    assert created.status_code == 302
    assert (
        db_session.scalars(select(Template).where(Template.name == "Mine"))
        .one()
        .created_by.startswith("user:")
    )


def test_a_layout_cannot_hide_the_footer(client_as: ClientAs, db_session: Session) -> None:
    template = _template(
        db_session,
        '<div style="display:none;height:0;overflow:hidden;position:absolute">{{ content }}</div><style>',
    )
    campaign = CampaignFactory(template_id=template.id)
    db_session.commit()
    html = client_as("dpo").get(f"/admin/campaigns/{campaign.id}/message.html").get_data(as_text=True)
    assert "display" not in html and "position" not in html and "<style" not in html
    assert "Bonjour Camille" in html and 'role="contentinfo"' in html


def test_a_campaign_wraps_its_body_and_text_in_its_template(client_as: ClientAs, db_session: Session) -> None:
    template = _template(db_session)
    campaign = CampaignFactory(template_id=template.id)
    db_session.commit()
    page = client_as("dpo").get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "== Bonjour Camille ==" in page
    html = client_as("dpo").get(f"/admin/campaigns/{campaign.id}/message.html").get_data(as_text=True)
    assert "<div><p>Bonjour Camille</p></div>" in html


def test_a_frozen_template_refuses_edits_and_says_to_duplicate(
    client_as: ClientAs, db_session: Session
) -> None:
    template = _template(db_session)
    CampaignFactory(template_id=template.id, status="sent")
    db_session.commit()
    client = client_as("marketer")
    page = f"{LIBRARY}/{template.id}"
    assert templates.FROZEN in client.get(page).get_data(as_text=True)
    refused = post(
        client,
        page,
        {"name": "Changed", "layout_html": "<p>{{ content }}</p>", "layout_text": "{{ content }}"},
        token_page=page,
    )
    assert refused.status_code == 409
    assert templates.FROZEN in refused.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(Template, template.id).name == "Ours"  # type: ignore[union-attr]
    copied = post(client, f"{page}/duplicate", token_page=page)
    assert copied.status_code == 303
    copy = db_session.scalars(select(Template).where(Template.name == "Copy of Ours")).one()
    assert copied.headers["Location"].endswith(f"{LIBRARY}/{copy.id}")
    saved = post(
        client,
        f"{LIBRARY}/{copy.id}",
        {"name": "Changed", "layout_html": "<p>{{ content }}</p>", "layout_text": "{{ content }}"},
        token_page=page,
    )
    assert saved.status_code == 302


def test_a_built_in_template_is_never_edited(client_as: ClientAs, db_session: Session) -> None:
    client = client_as("marketer")
    client.get(LIBRARY)
    newsletter = db_session.scalars(select(Template).where(Template.key == "newsletter")).one()
    page = f"{LIBRARY}/{newsletter.id}"
    refused = post(
        client,
        page,
        {"name": "Mine", "layout_html": "<p>{{ content }}</p>", "layout_text": ""},
        token_page=page,
    )
    assert refused.status_code == 409
    assert templates.BUILT_IN in refused.get_data(as_text=True)


def test_a_campaign_is_duplicated_from_its_page(client_as: ClientAs, db_session: Session) -> None:
    template = _template(db_session)
    lst = ListFactory()
    original = CampaignFactory(
        name="Spring", purpose_id=PurposeFactory().id, lists=[lst], status="sent", template_id=template.id
    )
    db_session.commit()
    client = client_as("marketer")
    page = f"/admin/campaigns/{original.id}"
    assert "Duplicate as a new draft" in client.get(page).get_data(as_text=True)
    copied = post(client, f"{page}/duplicate", token_page=page)
    assert copied.status_code == 303
    copy = db_session.scalars(select(Campaign).where(Campaign.name == "Copy of Spring")).one()
    assert copied.headers["Location"].endswith(f"/admin/campaigns/{copy.id}")
    assert (copy.status, copy.template_id, copy.body_html, copy.subject) == (
        "draft",
        template.id,
        original.body_html,
        original.subject,
    )
    assert [x.id for x in copy.lists] == [lst.id]
    assert copy.launched_at is None
    assert client_as("dpo").post(f"{page}/duplicate").status_code in (400, 403)


def _png(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (1600, 800), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPSInfo: Paris
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _upload(client: FlaskClient, data: bytes, name: str, alt: str = "A red square") -> Any:
    return post(
        client,
        "/admin/images",
        {"file": (io.BytesIO(data), name), "alt_text": alt, "next": LIBRARY},
        token_page=LIBRARY,
        content_type="multipart/form-data",
    )


def _flashes(client: FlaskClient) -> str:
    return client.get(LIBRARY).get_data(as_text=True)


def test_an_image_is_stripped_of_its_metadata_and_resized(
    client_as: ClientAs, db_session: Session, runtime: Runtime
) -> None:
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the upload carries GPS
    client = client_as("marketer")
    assert _upload(client, original, "holiday.jpg", alt="Sea view").status_code == 303
    stored = db_session.scalars(select(Media)).one()
    assert (stored.content_type, stored.width, stored.height, stored.alt_text) == (
        "image/jpeg",
        runtime.settings.composer.media_max_width,
        600,
        "Sea view",
    )
    served = client_as("dpo").get(f"/media/{stored.public_key}")
    image = Image.open(io.BytesIO(served.get_data()))
    assert dict(image.getexif()) == {}
    assert b"Exif" not in served.get_data() and b"CameraMaker" not in served.get_data()
    assert "exif" not in image.info and "icc_profile" not in image.info


def test_an_image_is_served_by_its_key_alone_with_long_cache(
    client: FlaskClient, client_as: ClientAs, db_session: Session
) -> None:
    _upload(client_as("marketer"), _png(), "square.png")
    stored = db_session.scalars(select(Media)).one()
    url = f"/media/{stored.public_key}"
    # No session needed (mail clients and their image proxies), and nothing about a recipient in the URL.
    served = client.get(url)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert re.fullmatch(r"/media/[A-Za-z0-9_-]{22}", url)
    assert client.get("/media/unknownkey").status_code == 404
    # The composer's markup names the image the same way, with its alt text.
    page = client_as("marketer").get("/admin/campaigns/new").get_data(as_text=True)
    assert f"{url}&#34; alt=&#34;A red square&#34;" in page


def test_uploads_over_the_limits_or_of_other_types_are_refused(
    client_as: ClientAs, db_session: Session, runtime: Runtime
) -> None:
    client = client_as("marketer")
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    _upload(client, svg, "logo.svg")
    assert "SVG images are not accepted" in _flashes(client)
    _upload(client, b"BM" + b"\0" * 200, "old.bmp")
    assert "not an image of an accepted type (PNG, JPEG, GIF or WebP)" in _flashes(client)
    _upload(client, b"%PDF-1.4 not an image", "file.png")
    assert "not an image of an accepted type" in _flashes(client)
    _upload(client, _png(), "square.png", alt=" ")
    assert "describe the image: alt text is required" in _flashes(client)
    runtime.settings = runtime.settings.with_overrides(
        composer=dataclasses.replace(runtime.settings.composer, media_max_bytes=1024)
    )
    big = _png(600, 600) + b"\0" * 2048
    _upload(client, big, "big.png")
    assert f"the image is {len(big)} bytes; at most 1024" in _flashes(client)
    assert db_session.scalars(select(Media)).all() == []


def test_the_brand_colour_must_keep_white_text_readable(client_as: ClientAs, db_session: Session) -> None:
    client = client_as("admin")
    post(client, "/admin/brand", {"brand_color": "#ffff00"}, token_page=LIBRARY)
    assert "white text on this colour has a contrast of 1.1:1" in _flashes(client)
    assert post(client, "/admin/brand", {"brand_color": "#7a1f5c"}, token_page=LIBRARY).status_code == 303
    client.get(LIBRARY)
    newsletter = db_session.scalars(select(Template).where(Template.key == "newsletter")).one()
    html = client.get(f"{LIBRARY}/{newsletter.id}/message.html").get_data(as_text=True)
    assert "background-color:#7a1f5c" in html


def test_a_templated_message_leaves_with_its_layout_footer_and_exits(
    db_session: Session, runtime: Runtime
) -> None:
    from sender.models import Purpose
    from sender.services.messages.rendering import MessageRenderer
    from tests.factories import ContactFactory

    template = _template(
        db_session, '<table width="100%"><tr><td style="color:#111111">{{ content }}</td></tr></table>'
    )
    purpose = db_session.get(Purpose, PurposeFactory().id)
    campaign = CampaignFactory(purpose_id=purpose.id, template_id=template.id)  # type: ignore[union-attr]
    db_session.commit()
    contact = ContactFactory(first_name="Lou")
    renderer = MessageRenderer(runtime.settings, runtime.tokens, campaign, purpose)  # type: ignore[arg-type]
    message = renderer.render(contact, 1).message()
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert '<td style="color:#111111"><p>Bonjour Lou</p></td>' in html
    assert html.index("Bonjour Lou") < html.index('role="contentinfo"')
    assert text.startswith("== Bonjour Lou ==")
    assert message["List-Unsubscribe"] and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
