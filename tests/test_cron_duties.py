"""`sender cron` runs what the installation's settings call for: the bounce mailbox only where one is named."""

from __future__ import annotations

from pathlib import Path

from sender.cli.cron import duties
from sender.config import load_settings


def _commands(env: dict[str, str]) -> list[str]:
    return [" ".join(duty.command) for duty in duties(load_settings(env))]


def test_the_bounce_mailbox_is_read_every_minute_once_bounce_imap_url_names_one(tmp_path: Path) -> None:
    bare = _commands({"INSTANCE_PATH": str(tmp_path)})
    with_mailbox = _commands(
        {"INSTANCE_PATH": str(tmp_path), "BOUNCE_IMAP_URL": "imaps://bounces:secret@mail.example.org/INBOX"}
    )

    assert "bounces fetch" not in bare
    assert with_mailbox == [*bare[:2], "bounces fetch", *bare[2:]]
    assert {"requalify run", "deliverability breaker", "sequences run", "retention run"} <= set(bare)
