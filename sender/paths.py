"""Where things live: templates/ and migrations/ (checkout or wheel), and the private instance folder."""

from __future__ import annotations

import os
from pathlib import Path

from sender.config import Settings

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the checkout's top-level folder `name`, or the copy a wheel carries as sender/_name."""
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE / f"_{name}"


def restrict_instance_files(settings: Settings) -> None:
    """Make the instance folder 0700 and its files (SQLite, Redis data, keys, outbox) 0600, new ones too.

    The umask covers what this process and its children create later (SQLite's -wal and -shm files, the
    embedded Redis server's data file and socket, outbox messages).
    """
    os.umask(0o077)
    paths = [settings.instance_path]
    if settings.database_url.startswith("sqlite:///"):
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        paths += [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for root in paths:
        if not root.exists():
            continue
        if root.is_file():
            root.chmod(0o600)
            continue
        root.chmod(0o700)
        for folder, dirs, files in os.walk(root):
            for name in dirs:
                (Path(folder) / name).chmod(0o700)
            for name in files:
                (Path(folder) / name).chmod(0o600)
