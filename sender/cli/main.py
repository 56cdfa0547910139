"""The `sender` command: migrations, users and tokens, the worker, and `serve` for a single machine."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from sender.cli import access as access_cli
from sender.cli import requalify as requalify_cli
from sender.cli import sequences as sequences_cli
from sender.cli import units
from sender.cli.audit import audit_group
from sender.cli.bounces import bounces_group
from sender.cli.breaches import breaches_group
from sender.cli.contacts import contacts
from sender.cli.cron import cron
from sender.cli.deliverability import deliverability_group
from sender.cli.register import register_group
from sender.cli.rights import requests_group, signups_group
from sender.cli.serve import STOP_GRACE_SECONDS, install_stop_handlers, run_web, stop_with_parent
from sender.cli.serve import serve as run_serve
from sender.config import ConfigError, Settings, load_settings
from sender.db import make_engine
from sender.migrate import alembic_config, downgrade, upgrade
from sender.models.users import ROLES
from sender.runtime import build_runtime
from sender.scrub import install_log_scrubber, scrub
from sender.services.accounts import users as user_service
from sender.services.errors import QueueUnavailable
from sender.tasks.queue import QUEUES, bind_queue
from sender.work import QueueDown


class SenderGroup(click.Group):
    """A click group that turns a bad setting into one clear line and exit code 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, mapping ConfigError to `configuration error: ...`."""
        # Files this process creates (SQLite, Redis data, outbox, keys) are readable by their owner only.
        os.umask(0o077)
        install_log_scrubber()
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"configuration error: {exc}", err=True)
            raise click.exceptions.Exit(2) from None


@click.group(cls=SenderGroup)
def cli() -> None:
    """sender: privacy-safe email and SMS campaigns."""


def _settings() -> Settings:
    return load_settings()


# --- database ---------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    upgrade(_settings().database_url, revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`base` empties the schema)."""
    downgrade(_settings().database_url, revision)
    click.echo(f"database downgraded to {revision}")


@db.command("current")
def db_current() -> None:
    """Show the database's revision and whether it is at head."""
    url = _settings().database_url
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url, pool=False)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    if not current:
        click.echo("none (empty database: run `sender db upgrade`)")
        return
    for revision in sorted(current):
        click.echo(f"{revision} (head)" if revision in heads else f"{revision} (behind head)")


# --- users and tokens -------------------------------------------------------------------------


@cli.group()
def users() -> None:
    """Staff users."""


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, metavar="|".join(ROLES), help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a staff user; the password is asked twice without echo."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with units.session() as session:
        user = user_service.create_user(session, email, role, password, actor="cli")
    click.echo(f"created {user.role} user #{user.id}")


@cli.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="api", show_default=True, help="A label to recognise the token by.")
@click.option("--password-stdin", is_flag=True, help="Read EMAIL's password from the first line of stdin.")
def tokens_create(email: str, name: str, password_stdin: bool) -> None:
    """Issue an API token to the user EMAIL, who types their password, and print it (shown only this once)."""
    # A token acts for its owner: only the owner, proved by their password, may have one issued.
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password of {email}", hide_input=True, err=True)
    with units.session() as session:
        issued = user_service.issue_own_token(session, email, password, name)
    click.echo("Store this token now; it cannot be shown again.", err=True)
    click.echo(issued.value)


for command in (access_cli.tokens_list, access_cli.tokens_revoke):
    tokens.add_command(command)
for command in (access_cli.users_deactivate, access_cli.users_activate, access_cli.users_password):
    users.add_command(command)


# --- processes --------------------------------------------------------------------------------


# Set by `sender serve` on its children: they stop by themselves if it is killed without cleaning up.
_PARENT_PID = click.option("--parent-pid", type=int, hidden=True)


def _queue_names(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise click.BadParameter("name at least one queue")
    return names


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty (tests, one-off runs).")
@click.option("--queues", default=",".join(QUEUES), show_default=True, help="Queues in priority order.")
@click.option(
    "--with-scheduler/--without-scheduler",
    default=True,
    show_default=True,
    help="Also run RQ's scheduler, which moves due retries and launches onto the queues (RQ elects one).",
)
@_PARENT_PID
def worker(burst: bool, queues: str, with_scheduler: bool, parent_pid: int | None) -> None:
    """Run an RQ worker (the same as `python worker.py`), with the scheduler unless --without-scheduler."""
    from sender.tasks.worker import run

    if parent_pid is not None:
        stop_with_parent(parent_pid)
    run(_settings(), _queue_names(queues), burst=burst, with_scheduler=with_scheduler)


@cli.group()
def campaigns() -> None:
    """Campaign maintenance."""


@campaigns.command("sweep")
@click.option(
    "--lease",
    type=click.IntRange(0),
    default=None,
    help="Seconds after which a claim counts as dead (default: SEND_LEASE_SECONDS).",
)
@click.option("--every", type=click.IntRange(1), default=None, help="Repeat every N seconds until stopped.")
@_PARENT_PID
def campaigns_sweep(lease: int | None, every: int | None, parent_pid: int | None) -> None:
    """Mark interrupted sends unknown, re-enqueue unfinished batches, close finished campaigns (cron)."""
    from sender.services.campaigns.launch import sweep

    if parent_pid is not None:
        stop_with_parent(parent_pid)
    runtime = bind_queue(build_runtime(_settings(), pool=False))
    stop = install_stop_handlers()
    failures = 0
    while True:
        try:
            report = sweep(runtime, lease)
        except (RedisError, QueueDown, QueueUnavailable, SQLAlchemyError) as exc:
            # Redis or the database is away for a moment: say so, back off and try again (once, under cron).
            failures += 1
            click.echo(f"sweep failed: {type(exc).__name__}: {scrub(str(exc))}", err=True)
            if every is None:
                raise click.exceptions.Exit(1) from None
            if stop.wait(min(every, 2**failures)):
                break
            continue
        failures = 0
        click.echo(
            f"stale batches: {report.stale_batches}, re-enqueued jobs: {report.requeued_jobs}, "
            f"campaigns finished: {report.finished}, overdue launches: {report.overdue_launches}, "
            f"overdue delayed jobs: {report.overdue_jobs}, webhook attempts asked again: "
            f"{report.webhook_attempts}, transactional messages asked again: {report.transactional_requeued}, "
            f"lost while sending (unknown): {report.transactional_unknown}"
        )
        if every is None or stop.wait(every):
            break


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--stop-grace",
    default=STOP_GRACE_SECONDS,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds a stopped worker gets to finish its batch before it is killed.",
)
def serve(host: str, port: int, stop_grace: float) -> None:
    """Run migrations, web server, worker and scheduler on this machine (Redis embedded if unset)."""
    raise click.exceptions.Exit(run_serve(host, port, stop_grace))


@cli.command(hidden=True)
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=click.IntRange(0, 65535))
@_PARENT_PID
def web(host: str, port: int, parent_pid: int | None) -> None:
    """The web process of `sender serve` (werkzeug's threaded server; use gunicorn in production)."""
    if parent_pid is not None:
        stop_with_parent(parent_pid)
    run_web(host, port)


cli.add_command(requests_group)
cli.add_command(audit_group)
cli.add_command(breaches_group)
cli.add_command(register_group)
cli.add_command(signups_group)
cli.add_command(contacts)
cli.add_command(requalify_cli.requalify_group)
cli.add_command(requalify_cli.retention_group)
cli.add_command(sequences_cli.sequences_group)
cli.add_command(cron)
cli.add_command(bounces_group)
cli.add_command(deliverability_group)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="sender")


if __name__ == "__main__":
    main()
