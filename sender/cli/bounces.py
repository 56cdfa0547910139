"""`sender bounces fetch` (the IMAP mailbox, cron or --every) and `sender bounces serve` (SMTP/LMTP)."""

from __future__ import annotations

import imaplib

import click
from sqlalchemy.exc import SQLAlchemyError

from sender.cli import units
from sender.scrub import scrub
from sender.services.errors import NotConfigured


@click.group("bounces")
def bounces_group() -> None:
    """Bounce and complaint reports: the IMAP mailbox and the SMTP/LMTP receiver."""


@bounces_group.command("fetch")
@click.option("--every", type=click.IntRange(1), default=None, help="Repeat every N seconds until stopped.")
def bounces_fetch(every: int | None) -> None:
    """Read the bounce mailbox (BOUNCE_IMAP_URL) once: apply each report, then move or delete it."""
    from sender.cli.serve import install_stop_handlers
    from sender.services.deliverability import mailbox

    stop = install_stop_handlers()
    with units.runtime() as runtime:
        while True:
            try:
                report = mailbox.fetch(runtime)
            except NotConfigured as exc:
                for name, reason in exc.errors.items():
                    click.echo(f"configuration error: {name} {reason}", err=True)
                raise click.exceptions.Exit(2) from None
            except (OSError, imaplib.IMAP4.error, SQLAlchemyError) as exc:
                # The mailbox or the database is away: say so (never the URL: it holds a password), retry.
                click.echo(f"bounce mailbox not read: {type(exc).__name__}: {scrub(str(exc))}", err=True)
                if every is None:
                    raise click.exceptions.Exit(1) from None
            else:
                click.echo(" ".join(f"{name}={value}" for name, value in report.counts().items()))
            if every is None or stop.wait(every):
                break


@bounces_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=2525, show_default=True, type=click.IntRange(0, 65535), help="0: any free port."
)
@click.option(
    "--lmtp", is_flag=True, help="Speak LMTP (RFC 2033, for Postfix's lmtp transport) instead of SMTP."
)
def bounces_serve(host: str, port: int, lmtp: bool) -> None:
    """Receive bounce and complaint messages forwarded by an MTA, and apply them as they arrive."""
    from sender.cli.bounce_server import serve

    with units.runtime() as runtime:
        serve(runtime, host, port, lmtp)
