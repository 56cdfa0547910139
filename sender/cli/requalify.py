"""`sender requalify run` and `sender retention run`: the cron side of requalification and retention.

Both are idempotent and safe every minute or once a day; a second run while one is going prints
"another run holds the lock" and exits 0. Their counts go to the audit log and to stdout.
"""

from __future__ import annotations

import click

from sender.cli import units


def _print(counts: dict[str, object]) -> None:
    click.echo(" ".join(f"{name}={value}" for name, value in counts.items()))


@click.group("requalify")
def requalify_group() -> None:
    """Requalification of legacy contacts (cron)."""


@requalify_group.command("run")
def requalify_run() -> None:
    """Ask who is due in each open cycle (once per cycle), close the cycles past their deadline."""
    from sender.services.campaigns import requalify_cycle

    with units.runtime() as runtime:
        report = requalify_cycle.run(runtime)
    if report.locked:
        click.echo("another run holds the lock; nothing done")
        return
    _print(report.counts())


@click.group("retention")
def retention_group() -> None:
    """Retention of personal data (cron)."""


@retention_group.command("run")
def retention_run() -> None:
    """Erase or archive what no purpose's retention justifies, purge unconfirmed sign-ups, age delivery logs."""
    from sender.services.rights import retention

    with units.runtime() as runtime:
        report = retention.run(runtime)
    if report.locked:
        click.echo("another run holds the lock; nothing done")
        return
    _print(dict(report.counts()))
