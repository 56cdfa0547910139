"""Access logs without link tokens or query strings: a signed token in a URL is a credential (R38)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger as GunicornLogger
from werkzeug.serving import WSGIRequestHandler

from sender.scrub import REDACTED, scrub


def redact(text: str) -> str:
    """A request line or path with link tokens, query strings and addresses replaced by [redacted]."""
    return scrub(text)


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's handler (`sender serve`), logging request lines with tokens redacted."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request like werkzeug does, after redacting the path (the response is already sent)."""
        self.requestline = redact(self.requestline)
        self.path = redact(self.path)
        super().log_request(code, size)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger (production web), with tokens redacted from the access log's URL atoms."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """The access-log fields, with the request line, path and query redacted."""
        values: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(values.get(key), str):
                values[key] = redact(values[key])
        # The query string alone: search terms (?email=…) are personal data, keep only that there was one.
        if values.get("q"):
            values["q"] = REDACTED
        return values
