"""`sender contacts import`: a CSV file with its provenance, dry-run by default, committed with --commit."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from sender import work
from sender.cli import units
from sender.enums import Channel, ImportStatus
from sender.models import ImportBatch, ImportReportLine
from sender.services.audience import import_mapping, import_report, imports

SHOWN_LINES = 20


@click.group()
def contacts() -> None:
    """Contacts."""


def _summary(session: Session, batch: ImportBatch, committed: bool) -> None:
    what = "committed" if committed else "dry run, nothing written"
    click.echo(
        f"batch {batch.id}: {batch.file_name} ({batch.encoding}, separator {batch.delimiter!r}), {what}"
    )
    mapped = ", ".join(f"{c['column']} -> {c['field'] or '(ignored)'}" for c in batch.mapping["columns"])
    click.echo(f"columns: {mapped}")
    click.echo(
        f"rows: {batch.total_rows}, accepted: {batch.accepted}, merged: {batch.merged}, "
        f"refused: {batch.refused}, fields dropped: {batch.fields_dropped}, "
        f"consents: {batch.consents_recorded}"
    )
    if imports.proof_of(session, batch) is None:
        click.echo("no proof of consent: new contacts are legacy; no ordinary campaign reaches them")
    notes = session.scalars(
        select(ImportReportLine)
        .where(ImportReportLine.batch_id == batch.id, ImportReportLine.reason != "")
        .order_by(ImportReportLine.id)
        .limit(SHOWN_LINES + 1)
    ).all()
    for line in notes[:SHOWN_LINES]:
        column = f", column {line.column}" if line.column else ""
        click.echo(f"row {line.row_no}{column}: {line.outcome}: {line.reason}")
    if len(notes) > SHOWN_LINES:
        click.echo("... (the whole report: --report FILE)")


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="Collection point: where and how the addresses were collected.")
@click.option("--legal-basis", required=True, type=click.Choice(imports.IMPORT_LEGAL_BASES))
@click.option("--collected-on", metavar="YYYY-MM-DD", help="When the addresses were collected.")
@click.option(
    "--purpose", metavar="SLUG", help="Purpose the people consented to (with --legal-basis consent)."
)
@click.option("--wording-version", type=int, help="Version of the consent wording they were shown.")
@click.option("--mechanism", help="How they consented (default checkbox).")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice([channel.value for channel in Channel]),
    help="Default: email.",
)
@click.option("--partner", help="Partner the list comes from, if any.")
@click.option("--partner-named-sender", is_flag=True, help="The partner's consent wording named us.")
@click.option("--dry-run/--commit", "dry_run", default=True, help="Report only (default), or write.")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=FIELD",
    help=f"Fields: {', '.join(import_mapping.FIELDS)}, attributes.NAME, ignore.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the row report as CSV.",
)
def import_contacts(
    file: Path,
    source: str,
    legal_basis: str,
    collected_on: str | None,
    purpose: str | None,
    wording_version: int | None,
    mechanism: str | None,
    channels: tuple[str, ...],
    partner: str | None,
    partner_named_sender: bool,
    dry_run: bool,
    maps: tuple[str, ...],
    report_path: Path | None,
) -> None:
    """Import contacts from a CSV FILE with its provenance (dry run unless --commit)."""
    data = {
        "source": source,
        "legal_basis": legal_basis,
        "collected_on": collected_on,
        "purpose": purpose,
        "wording_version": wording_version,
        "mechanism": mechanism,
        "channels": list(channels),
        "partner": partner,
        "partner_named_sender": partner_named_sender,
    }
    with units.runtime() as runtime, work.unit(runtime.Session, "contacts import") as session:
        mapping = import_mapping.parse_overrides(maps)
        with file.open("rb") as stream:
            batch = imports.create(session, runtime.settings, stream, file.name, data, "cli", mapping)
        # The run's first step commits the stored batch with its start.
        imports.run(session, runtime.settings, batch, "analyse" if dry_run else "commit")
        if batch.status == ImportStatus.FAILED:
            click.echo(f"error: {batch.error}", err=True)
            raise click.exceptions.Exit(1)
        _summary(session, batch, committed=not dry_run)
        if report_path is not None:
            with report_path.open("w", encoding="utf-8", newline="") as out:
                for text in import_report.csv_chunks(session, batch.id):
                    out.write(text)
            click.echo(f"report written to {report_path}")
