"""One unit of work per request: a session on `g`, committed once when the view answers without error.

A view (or the services it calls) writes through `get_session()` and never commits: once the view has
answered with a status below 400, the request's work is committed and the jobs it asked for are sent
(sender.work); an error answer, an exception or `discard()` rolls it back and sends nothing. A refusal
whose writes must stay (a failed sign-in counts toward the lock-out) says so with `keep_on_error()`.

The commit is part of dispatching (`App.dispatch_request`), as pyramid_tm does for warehouse: a failure at
commit time goes through the error handlers like any other (a conflict answers 409), and the after-request
hooks (security headers) see the final response.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from sender import work
from sender.runtime import Runtime
from sender.services.errors import QueueUnavailable


def runtime() -> Runtime:
    """The current app's runtime."""
    value: Runtime = current_app.extensions["sender"]
    return value


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = runtime().Session()
    session: Session = g.db_session
    return session


def discard() -> None:
    """Roll back what the request wrote so far and send none of its jobs (a refused form, say)."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.rollback()


def keep_on_error() -> None:
    """Commit the request's work even though it answers with an error status."""
    g.db_keep_on_error = True


def _finish(response: Response) -> None:
    session: Session | None = g.get("db_session")
    if session is None:
        return
    if response.status_code >= 400 and not g.get("db_keep_on_error"):
        session.rollback()
        return
    try:
        work.commit(session, f"{request.method} {request.endpoint}")
    except work.QueueDown as exc:
        # The work is saved; the sweep sends what it can redo. Say so instead of pretending all is done.
        raise QueueUnavailable(
            f"saved, but the queue (Redis) is unreachable: {len(exc.jobs)} job(s) wait for it"
        ) from exc


class App(Flask):
    """Flask, with each request's unit of work committed when its view has answered."""

    def dispatch_request(self) -> ResponseReturnValue:
        """Run the view, then commit its work (or roll it back for an error answer)."""
        response = self.make_response(super().dispatch_request())
        _finish(response)
        return response


def _close(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        # Whatever was not committed by the request's unit of work (an error, a streamed read) is discarded.
        session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    """Close each request's session at teardown, discarding whatever its unit of work did not commit."""
    app.teardown_appcontext(_close)
