"""Job functions used only by the worker tests (the real jobs live in sender/jobs.py)."""

from __future__ import annotations

import os
import smtplib

from flask import current_app
from sqlalchemy import text

from sender import get_runtime
from sender.services.records import audit

NAME = "Zoé Lefebvre-Quantin"
PORTAL_PATH = "/p/opaque-portal-token"
REJECTED = "550 5.1.1 <jane.doe@example.org>: recipient rejected; SMS to +33612345678 refused"


def record_run(label: str) -> None:
    """Write an audit row through the app's runtime, noting which process and DB backend ran the job."""
    # current_app raises outside an app context: the worker must provide one.
    runtime = get_runtime(current_app)
    with runtime.Session() as session:
        backend = None
        if session.get_bind().dialect.name == "postgresql":
            backend = session.scalar(text("SELECT pg_backend_pid()"))
        details = {"pid": os.getpid(), "ppid": os.getppid(), "backend_pid": backend}
        audit.record(session, "job:test", "test.job_ran", "job", label, details)
        session.commit()


def fail_with_addresses() -> None:
    """Fail the way a transport does, with addresses in the exception text."""
    raise smtplib.SMTPResponseException(550, REJECTED)


def fail_quoting_a_name() -> None:
    """Fail the way a template does, quoting a contact's data in the message."""
    from jinja2.exceptions import UndefinedError

    raise UndefinedError(f"'dict object' has no attribute '{NAME}' ({PORTAL_PATH})")


def sleep_long() -> None:
    """Keep a work horse busy."""
    import time

    time.sleep(300)
