"""`sender sequences run`: enrol by segment and date, plan every due step (cron, every minute).

Idempotent: each (enrolment, step) is planned once whatever runs at the same time, so two copies of the
duty (a crontab and `sender serve`) only share the work.
"""

from __future__ import annotations

import click

from sender.cli import units


@click.group("sequences")
def sequences_group() -> None:
    """Welcome and drip sequences (cron)."""


@sequences_group.command("run")
def sequences_run() -> None:
    """Enrol those who entered a segment or reached a date, and plan the steps now due."""
    from sender.services.sequences import run

    with units.runtime() as runtime:
        report = run.run(runtime)
    click.echo(" ".join(f"{name}={value}" for name, value in report.counts().items()))
