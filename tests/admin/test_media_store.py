"""Images in an S3-compatible store (MEDIA_URL) against a real local S3 server (moto's), and MEDIA_URL's checks."""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender.config import ConfigError
from sender.config_composer import S3Location, media_location
from sender.models import Media
from sender.runtime import Runtime
from sender.services.campaigns.schema import CampaignDraft
from sender.services.composer import media
from sender.services.messages.rendering import EmailRenderer
from tests.admin.conftest import post
from tests.factories import CampaignFactory, ContactFactory, PurposeFactory, WordingFactory

LIBRARY = "/admin/templates"
BUCKET = "newsletter-media"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """A local S3 server on a free port, with an empty bucket; its endpoint and a client of it."""
    from moto.server import ThreadedMotoServer

    # Credentials as the SDK reads them from the environment (any value is accepted by the stand-in).
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "eu-west-3",
    }.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
        yield endpoint, client
    finally:
        server.stop()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 400), (20, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def test_an_image_uploaded_to_s3_is_served_from_the_sent_message(
    s3: tuple[str, Any],
    client: FlaskClient,
    client_as: Callable[[str], FlaskClient],
    db_session: Session,
    runtime: Runtime,
) -> None:
    endpoint, bucket = s3
    runtime.settings = runtime.settings.with_overrides(
        composer=dataclasses.replace(
            runtime.settings.composer,
            media_store=media_location({"MEDIA_URL": f"s3://{BUCKET}/campaigns?endpoint={endpoint}"}),
        )
    )
    upload = post(
        client_as("marketer"),
        "/admin/images",
        {"file": (io.BytesIO(_png()), "banner.png"), "alt_text": "Our shop", "next": LIBRARY},
        token_page=LIBRARY,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 303
    stored = db_session.scalars(select(Media)).one()
    # In the bucket under the prefix, resized, with its type; nothing on the local disk.
    obj = bucket.get_object(Bucket=BUCKET, Key=f"campaigns/{stored.public_key}")
    data = obj["Body"].read()
    assert obj["ContentType"] == "image/png" and Image.open(io.BytesIO(data)).width == 1200
    # (Other tests of the run may have stored their images in the shared instance folder: not this one.)
    assert not (runtime.settings.instance_path / "media" / stored.public_key).exists()

    # A campaign showing it, rendered as it is sent: its URL names the image, never the recipient.
    purpose = PurposeFactory()
    WordingFactory(purpose=purpose)
    draft = CampaignDraft.parse(
        {
            "name": "n",
            "purpose": purpose.slug,
            "subject": "s",
            "body_format": "html",
            "body_html": f"<p>Bonjour</p>{media.snippet(runtime.settings, stored)}",
            "body_text_derived": True,
        }
    )
    campaign = CampaignFactory(purpose_id=purpose.id, **draft.content())
    contact = ContactFactory(first_name="Lou")
    sent = EmailRenderer(runtime.settings, runtime.tokens, campaign, purpose).render(contact, 7)
    html = sent.message().get_body(("html",)).get_content()  # type: ignore[union-attr]
    src = re.search(r'<img src="([^"]+)" alt="Our shop"', html)
    assert src is not None
    url = src.group(1)
    assert url == f"{runtime.settings.public_base_url}/media/{stored.public_key}"
    # The URL is the image's alone (its key was drawn at upload, before any recipient): the same for everyone.
    other = ContactFactory(first_name="Max")
    again = EmailRenderer(runtime.settings, runtime.tokens, campaign, purpose).render(other, 8)
    assert url in again.message().get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert contact.public_id not in url and other.public_id not in url

    served = client.get(url.removeprefix(runtime.settings.public_base_url))
    assert served.status_code == 200 and served.get_data() == data
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # An object gone from the bucket is a 404, not an error page.
    bucket.delete_object(Bucket=BUCKET, Key=f"campaigns/{stored.public_key}")
    assert client.get(url.removeprefix(runtime.settings.public_base_url)).status_code == 404


def test_media_url_names_a_bucket_prefix_endpoint_and_region() -> None:
    assert media_location({}) is None and media_location({"MEDIA_URL": " "}) is None
    assert media_location(
        {"MEDIA_URL": "s3://media/news/2026/?endpoint=https://s3.example.net&region=fr-par"}
    ) == S3Location("media", "news/2026/", "https://s3.example.net", "fr-par")
    assert media_location({"MEDIA_URL": "s3://media"}) == S3Location("media")


@pytest.mark.parametrize(
    "url",
    [
        "https://media.example.net/bucket",
        "s3:///prefix",
        "s3://key:secret@media/prefix",
        "s3://media?endpoint=ftp://s3.example.net",
        "s3://media?bucket=other",
    ],
)
def test_a_bad_media_url_is_refused_by_name(url: str) -> None:
    with pytest.raises(ConfigError, match="MEDIA_URL"):
        media_location({"MEDIA_URL": url})
