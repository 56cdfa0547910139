"""The `sender` command line: thin commands over the services (`sender --help`)."""

from sender.cli.main import cli, main

__all__ = ["cli", "main"]
