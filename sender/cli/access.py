"""`sender tokens list|revoke`, `sender users deactivate|activate|password`: ending someone's access at once."""

from __future__ import annotations

import sys

import click

from sender.cli import units
from sender.services.accounts import access
from sender.services.accounts import users as user_service


@click.command("list")
@click.argument("email")
def tokens_list(email: str) -> None:
    """List the active API tokens of EMAIL: name, prefix and dates (never the token itself)."""
    with units.session() as session:
        user = user_service.find_user(session, email)
        for token in access.active_tokens(session, user):
            used = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "never"
            click.echo(
                f"{token.name}\t{token.prefix}…\tcreated {token.created_at:%Y-%m-%d}\tlast used {used}"
            )


@click.command("revoke")
@click.argument("email")
@click.option("--name", help="Revoke the tokens with this label.")
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of the user.")
def tokens_revoke(email: str, name: str | None, revoke_all: bool) -> None:
    """Revoke API tokens of EMAIL at once: calls with them get 401 from the next request."""
    if (name is None) == (not revoke_all):
        raise click.UsageError("give either --name NAME or --all")
    with units.session() as session:
        user = user_service.find_user(session, email)
        count = access.revoke_tokens(session, user, None if revoke_all else name, actor="cli")
    click.echo(f"revoked {count} token{'s' if count != 1 else ''}")


@click.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Deactivate the user EMAIL: every token of theirs gets 401 from the next request."""
    with units.session() as session:
        user = user_service.find_user(session, email)
        access.set_active(session, user, False, actor="cli")
    click.echo(f"deactivated user #{user.id}")


@click.command("activate")
@click.argument("email")
def users_activate(email: str) -> None:
    """Activate a deactivated user again (revoked tokens stay revoked)."""
    with units.session() as session:
        user = user_service.find_user(session, email)
        access.set_active(session, user, True, actor="cli")
    click.echo(f"activated user #{user.id}")


@click.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
def users_password(email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL (asked twice without echo); every staff session of theirs ends."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with units.session() as session:
        user = user_service.find_user(session, email)
        user_service.set_password(session, user, password, actor="cli")
    click.echo(f"new password set for user #{user.id}; their sessions are ended")
