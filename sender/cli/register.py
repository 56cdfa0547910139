"""`sender register export`: the register of processing (GDPR Art. 30(1)) as CSV, JSON or printable HTML."""

from __future__ import annotations

from typing import TextIO

import click

from sender.cli import units
from sender.config import load_settings
from sender.services.records import audit, register


@click.group("register")
def register_group() -> None:
    """The register of processing activities."""


@register_group.command("export")
@click.option("--format", "fmt", type=click.Choice(register.FORMATS), default="json", show_default=True)
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout).")
def export(fmt: str, output: TextIO) -> None:
    """Write the register, generated now; the export is recorded in the audit trail."""
    with units.session() as session:
        text = register.export(register.build(session, load_settings()), fmt)
        audit.record(session, "cli", "register.export", "register", "register", {"format": fmt})
    output.write(text)
