"""`sender breaches overdue|export`: the breach register's 72-hour clock, for cron and for the DPO."""

from __future__ import annotations

import json

import click

from sender.cli import units
from sender.config import load_settings
from sender.services.accounts import organisation
from sender.services.records import breach_notices, breaches


@click.group("breaches")
def breaches_group() -> None:
    """The breach register (Art. 33-34)."""


@breaches_group.command("overdue")
def overdue() -> None:
    """List unnotified incidents past their 72-hour deadline; exit 1 if there is any (run it from cron)."""
    with units.session() as session:
        late = [(i.id, breaches.deadline(i)) for i in breaches.overdue(session)]
    for incident_id, due in late:
        click.echo(f"incident {incident_id}: not notified, deadline {due.isoformat()}Z has passed")
    if late:
        raise click.exceptions.Exit(1)
    click.echo("no unnotified incident is past its deadline")


@breaches_group.command("export")
@click.argument("incident_id", type=int)
def export(incident_id: int) -> None:
    """Print the Art. 33(3) notification content of an incident as JSON (the export is audited)."""
    settings = load_settings()
    with units.session() as session:
        dpo = organisation.effective(session, settings).dpo_contact
        content = breach_notices.export(session, incident_id, dpo, "cli", "json")
    click.echo(json.dumps(content, indent=2, ensure_ascii=False))
