"""Where uploaded images are kept: a port with two adapters, a folder under the instance or an S3-compatible store.

`MEDIA_URL` chooses (config_composer.py): unset, images are files under `<instance>/media/`; `s3://bucket/prefix`
puts them in that bucket through boto3 (any S3-compatible endpoint with `?endpoint=`). Either way an image is
served at /media/<public key> by sender (web/media.py), so its URL names the image and never a recipient, and
the bucket needs no public access.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Protocol

from sender.config import Settings
from sender.config_composer import S3Location


class MediaStore(Protocol):
    """Stores and reads an image's bytes by its public key."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store the bytes under the key (a new key each upload: never overwritten)."""

    def get(self, key: str) -> bytes | None:
        """The bytes stored under the key, or None when there are none."""


class LocalStore:
    """Images as files of one folder (instance/media)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the file whole, then give it its name: a reader never sees half an image."""
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{key}.part"
        partial.write_bytes(data)
        os.replace(partial, self.folder / key)

    def get(self, key: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return (self.folder / key).read_bytes()
        except FileNotFoundError:
            return None


class S3Store:
    """Images as objects of an S3-compatible bucket, under a key prefix."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self.client = _client(location.endpoint, location.region)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """One PUT of the object (a new key each upload)."""
        self.client.put_object(
            Bucket=self.location.bucket,
            Key=self.location.prefix + key,
            Body=data,
            ContentType=content_type,
        )

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when the bucket has no such key."""
        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=self.location.prefix + key)
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = answer["Body"].read()
        return body


@functools.cache
def _client(endpoint: str | None, region: str | None) -> Any:
    """One boto3 client per endpoint, shared by the process (making one reads files and takes ~0.1 s)."""
    import boto3
    from botocore.config import Config

    # Bounded waits and retries: an upload or an image request never hangs on a slow store.
    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def folder(settings: Settings) -> Path:
    """Where the local adapter keeps images: instance/media."""
    return settings.instance_path / "media"


def store_for(settings: Settings) -> MediaStore:
    """The store MEDIA_URL names, or the instance folder."""
    location = settings.composer.media_store
    if location is not None:
        return S3Store(location)
    return LocalStore(folder(settings))
