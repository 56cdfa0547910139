"""Staff downloads (CSV exports and reports), streamed from a read-only session that holds no lock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from flask import Response
from sqlalchemy.orm import Session

from sender import work
from sender.web.session import runtime


def attachment(filename: str, mimetype: str, chunks: Callable[[Session], Iterable[str]]) -> Response:
    """A download whose text `chunks` reads in a session of its own, open only while the body is sent.

    The session is opened by the body's first chunk and closed when the last one is sent or the download
    is dropped (the server closes the body). It is a `work.reading` session: on SQLite it begins deferred
    and never takes the write lock, so a slow or abandoned download cannot stall the writers.
    """
    factory = runtime().Session

    def body() -> Iterator[str]:
        # Never the request's session: it is committed and closed before the body is sent, and a query on
        # it then would begin a transaction nobody ends (on SQLite, BEGIN IMMEDIATE: the write lock, kept
        # until the garbage collector finds the session; every other request then waits and fails).
        with work.reading(factory) as session:
            yield from chunks(session)

    return Response(
        body(),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_attachment(filename: str, chunks: Callable[[Session], Iterable[str]]) -> Response:
    """A CSV attachment streamed as `attachment` does."""
    return attachment(filename, "text/csv", chunks)
