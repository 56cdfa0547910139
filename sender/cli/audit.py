"""`sender audit verify|checkpoint`: prove the audit trail untouched, and anchor its head against truncation."""

from __future__ import annotations

import click

from sender.cli import units
from sender.config import load_settings
from sender.services.records import audit


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
def verify() -> None:
    """Seal what waits, walk the chain and check every checkpoint; exit 1 naming the first fault."""
    keys = load_settings().secret_keys
    with units.session() as session:
        audit.seal(session)
        result = audit.verify(session, keys)
    if not result.ok:
        click.echo(f"audit trail BROKEN: {result.problem}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"audit trail verified: {result.events} events, {result.checkpoints} checkpoints")


@audit_group.command("checkpoint")
def checkpoint() -> None:
    """Record the chain's head under an HMAC (run daily from cron); print it to keep outside the database."""
    keys = load_settings().secret_keys
    with units.session() as session:
        point = audit.checkpoint(session, keys)
        line = f"checkpoint {point.id} at {point.created_at:%Y-%m-%dT%H:%M:%SZ}: seq {point.seq} {point.hash} mac {point.mac}"
    click.echo(line)
