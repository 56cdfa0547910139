"""`sender requests overdue` (monitoring of the rights register) and `sender signups purge` (cron)."""

from __future__ import annotations

import click

from sender import work
from sender.cli import units
from sender.db import utcnow
from sender.services.consent import signup
from sender.services.rights import links, rectification
from sender.services.rights import requests as rights_requests


@click.group("requests")
def requests_group() -> None:
    """The register of rights requests (GDPR Art. 12)."""


@requests_group.command("overdue")
def requests_overdue() -> None:
    """List open requests past their deadline; exit 1 when there is any (for monitoring)."""
    with units.runtime() as runtime, work.reading(runtime.Session) as session:
        late = rights_requests.listing(session, overdue=True)
        now = utcnow()
        for item in late:
            due = rights_requests.deadline(item)
            click.echo(
                f"{item.public_id}\t{item.kind}\treceived {item.received_at:%Y-%m-%d}\t"
                f"due {due:%Y-%m-%d}\t{(now - due).days} days late"
            )
    if late:
        click.echo(f"{len(late)} overdue request(s)", err=True)
        raise click.exceptions.Exit(1)
    click.echo("no overdue request")


@click.group("signups")
def signups_group() -> None:
    """Sign-ups waiting for their double opt-in confirmation."""


@signups_group.command("purge")
def signups_purge() -> None:
    """Delete sign-ups not confirmed within SIGNUP_TTL_DAYS, ids of spent links and unconfirmed new addresses now expired (daily cron)."""
    with units.runtime() as runtime, work.unit(runtime.Session, "signups purge") as session:
        deleted = signup.purge_unconfirmed(session, runtime.settings)
        forgotten = links.forget_spent(session, runtime.settings)
        addresses = rectification.forget_unconfirmed(session, runtime.settings)
    click.echo(f"{deleted} unconfirmed sign-up(s) deleted")
    click.echo(f"{forgotten} spent link id(s) forgotten")
    click.echo(f"{addresses} unconfirmed address change(s) deleted")
