"""Uploaded images: checked (size, type), resized, stripped of metadata, re-encoded, and stored.

An image is stored under its public key in the media store (storage.py: the instance folder, or the S3
bucket MEDIA_URL names) and served to anyone at /media/<public key>: the key is random, and the URL names
the image, never a recipient. Pillow decodes
only the raster formats allowed here (never SVG, which can carry script), so a file that claims to be an
image but is not is refused with its reason.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass

from markupsafe import escape
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import Settings
from sender.i18n import N_
from sender.models import Media
from sender.services.composer import storage
from sender.services.errors import NotFound, ValidationFailed
from sender.services.records import audit

# Pillow's format name → the content type served and the extension nothing relies on.
TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
# Pixels Pillow may decode for one upload (a 5 MB file can declare a billion pixels: a decompression bomb).
MAX_PIXELS = 40_000_000
URL_PATH = "/media/"


@dataclass(frozen=True)
class Encoded:
    """An image ready to store: its bytes without metadata, type and size."""

    data: bytes
    content_type: str
    width: int
    height: int


def url(settings: Settings, public_key: str) -> str:
    """The absolute URL an email uses for an image (no recipient in it)."""
    return f"{settings.public_base_url}{URL_PATH}{public_key}"


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def encode(data: bytes, max_bytes: int, max_width: int) -> Encoded:
    """Decode an upload, turn it upright, shrink it to `max_width`, and re-encode it without metadata.

    ValidationFailed at `file` for an empty, oversized, SVG, undecodable or disallowed image.
    """
    if not data:
        raise ValidationFailed({"file": N_("choose an image file")})
    if len(data) > max_bytes:
        raise ValidationFailed(
            {"file": N_("the image is %(size)s bytes; at most %(max)s", size=len(data), max=max_bytes)}
        )
    if _looks_like_svg(data):
        raise ValidationFailed({"file": N_("SVG images are not accepted (they can carry scripts); use PNG")})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=list(TYPES))
            if opened.width * opened.height > MAX_PIXELS:
                raise ValidationFailed({"file": N_("the image has too many pixels")})
            opened.load()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError, OSError):
        raise ValidationFailed(
            {"file": N_("not an image of an accepted type (PNG, JPEG, GIF or WebP)")}
        ) from None
    kind = opened.format or ""
    # The camera's orientation is metadata too: applied to the pixels before the metadata goes.
    image: Image.Image = ImageOps.exif_transpose(opened)
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    if kind == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    # A fresh image of the pixels alone: no EXIF (GPS), no XMP, no ICC profile, no text chunks.
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    if image.mode == "P":
        palette = image.getpalette()
        if palette is not None:
            clean.putpalette(palette)
        if "transparency" in image.info:
            clean.info["transparency"] = image.info["transparency"]
    out = io.BytesIO()
    options: dict[str, int] = {"quality": 85} if kind in ("JPEG", "WEBP") else {}
    clean.save(out, format=kind, **options)
    return Encoded(out.getvalue(), TYPES[kind], clean.width, clean.height)


def store(session: Session, settings: Settings, data: bytes, alt_text: str, actor: str) -> Media:
    """Check, re-encode and store an uploaded image; ValidationFailed names the field. The caller commits."""
    if not alt_text.strip():
        raise ValidationFailed({"alt_text": N_("describe the image: alt text is required")})
    limits = settings.composer
    encoded = encode(data, limits.media_max_bytes, limits.media_max_width)
    key = secrets.token_urlsafe(16)
    # Stored before the row is written: a rolled-back upload leaves an unreferenced object, never a row
    # without its image, and a store on the network is called before this unit writes anything.
    storage.store_for(settings).put(key, encoded.data, encoded.content_type)
    media = Media(
        public_key=key,
        content_type=encoded.content_type,
        size=len(encoded.data),
        width=encoded.width,
        height=encoded.height,
        alt_text=alt_text.strip()[:500],
        uploaded_by=actor,
    )
    session.add(media)
    session.flush()
    audit.record(session, actor, "media.upload", "media", media.id, {"bytes": media.size})
    return media


def by_key(session: Session, public_key: str) -> Media:
    """The image with this public key, or NotFound."""
    media = session.scalar(select(Media).where(Media.public_key == public_key))
    if media is None:
        raise NotFound(N_("no such image"))
    return media


def read(settings: Settings, media: Media) -> bytes:
    """The stored bytes of an image; NotFound when the store has lost them."""
    data = storage.store_for(settings).get(media.public_key)
    if data is None:
        raise NotFound(N_("no such image"))
    return data


def recent(session: Session, limit: int = 50) -> list[Media]:
    """The latest uploads, newest first."""
    return list(session.scalars(select(Media).order_by(Media.id.desc()).limit(limit)))


def snippet(settings: Settings, media: Media) -> str:
    """The <img> markup the composer inserts: fluid under its width, with its alt text."""
    width = min(media.width, 552)
    return (
        f'<img src="{escape(url(settings, media.public_key))}" alt="{escape(media.alt_text)}" '
        f'width="{width}" style="max-width:100%;border:0">'
    )


def markdown(settings: Settings, media: Media) -> str:
    """The Markdown the composer inserts for an image: `![alt](url)`, the alt's brackets escaped."""
    alt = media.alt_text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{alt}]({url(settings, media.public_key)})"
