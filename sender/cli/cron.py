"""`sender cron`: the periodic duties a crontab would run, each on its schedule, in one long-running process.

`sender serve` starts it, so a single machine needs no crontab. Each duty is the very `sender` command of the
README's crontab, run in this process. Every duty is idempotent, so a restart that runs them again early, or a
cron-started copy running beside it, is harmless; `requalify run` and `retention run` also take a lease
(services/records/cron_lock.py), so that one copy at a time does their work.

Why not RQ's own cron (`rq cron`): its CronJob enqueues with RQ's default pickle serializer, which our JSON
workers refuse to read (README: Cron set-up).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import click

from sender.cli.serve import install_stop_handlers, stop_with_parent
from sender.config import Settings, load_settings
from sender.scrub import scrub

MINUTE, DAY = 60, 24 * 3600


@dataclass(frozen=True)
class Duty:
    """A `sender` command and how often it runs."""

    command: tuple[str, ...]
    every: int
    # Whether this installation needs the duty, from its settings; None: every installation does.
    needed: Callable[[Settings], bool] | None = None


def _bounce_mailbox(settings: Settings) -> bool:
    return settings.deliverability.imap_url is not None


# Requalification every minute: an idle run takes about 0.02 s (bench/requalify_cycle.py), and a started
# cycle's first asks should not wait. The others are daily housekeeping (README: Cron set-up).
DUTIES = (
    Duty(("requalify", "run"), MINUTE),
    # The circuit breaker over every sending campaign (batches also check it before they claim).
    Duty(("deliverability", "breaker"), MINUTE),
    # The bounce mailbox, when BOUNCE_IMAP_URL names one: reports change the breaker's rates within a minute.
    Duty(("bounces", "fetch"), MINUTE, _bounce_mailbox),
    # Sequences: people entering a segment or reaching a date, and every step now due.
    Duty(("sequences", "run"), MINUTE),
    Duty(("retention", "run"), DAY),
    Duty(("signups", "purge"), DAY),
    Duty(("requests", "overdue"), DAY),
)
TICK_SECONDS = 5


def duties(settings: Settings) -> list[Duty]:
    """The duties this installation runs: every duty its settings need."""
    return [duty for duty in DUTIES if duty.needed is None or duty.needed(settings)]


def run_duty(command: Sequence[str]) -> int:
    """Run one `sender` command in this process; its exit code (1 from `requests overdue` means: some are)."""
    from sender.cli.main import cli

    click.echo(f"cron: sender {' '.join(command)}")
    try:
        # Outside standalone mode click returns an Exit's code instead of leaving the process.
        code = cli.main(list(command), prog_name="sender", standalone_mode=False)
    except Exception as exc:
        # A duty that fails (database away) is tried again at its next time; the loop lives on.
        click.echo(
            f"cron: sender {' '.join(command)} failed: {type(exc).__name__}: {scrub(str(exc))}", err=True
        )
        return 1
    return code if isinstance(code, int) else 0


@click.command("cron")
@click.option("--parent-pid", type=int, default=None, hidden=True)
def cron(parent_pid: int | None) -> None:
    """Run requalification, sequences, the circuit breaker, the bounce mailbox, retention, the sign-up purge and the overdue
    requests check on their schedules."""
    if parent_pid is not None:
        stop_with_parent(parent_pid)
    stop = install_stop_handlers()
    scheduled = duties(load_settings())
    due = dict.fromkeys(scheduled, 0.0)
    while not stop.is_set():
        for duty in scheduled:
            if stop.is_set() or time.monotonic() < due[duty]:
                continue
            run_duty(duty.command)
            due[duty] = time.monotonic() + duty.every
        stop.wait(TICK_SECONDS)
