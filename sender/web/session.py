"""One database session per request, kept on `g` and closed at teardown (flaskr's get_db, for SQLAlchemy)."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from sender.runtime import Runtime


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


def _close(_exc: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        # Anything not committed explicitly by a view is discarded.
        session.rollback()
        session.close()


def init_app(app: Flask) -> None:
    """Register the teardown that closes the request's session."""
    app.teardown_appcontext(_close)
