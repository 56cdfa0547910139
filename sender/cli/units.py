"""The commands' runtime and unit of work, with service errors turned into one line and exit code 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from sender import work
from sender.config import load_settings
from sender.runtime import Runtime, build_runtime
from sender.services.errors import ServiceError, ValidationFailed
from sender.tasks.queue import bind_queue


@contextmanager
def runtime() -> Iterator[Runtime]:
    """The configured runtime (no connection pool: one command, one connection), disposed after use."""
    built = bind_queue(build_runtime(load_settings(), pool=False))
    try:
        yield built
    except ValidationFailed as exc:
        click.echo("error: invalid input", err=True)
        for field, reason in exc.errors.items():
            click.echo(f"  {field}: {reason}", err=True)
        raise click.exceptions.Exit(1) from None
    except ServiceError as exc:
        click.echo(f"error: {exc.message}", err=True)
        raise click.exceptions.Exit(1) from None
    finally:
        built.engine.dispose()


@contextmanager
def session() -> Iterator[Session]:
    """The command's unit of work on the configured database: committed on success; service errors exit 1."""
    with runtime() as built, work.unit(built.Session, click.get_current_context().command_path) as unit:
        yield unit
