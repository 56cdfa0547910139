"""Access logs without link tokens: a signed token in a URL is a credential and must not be logged (R38)."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger
from werkzeug.serving import WSGIRequestHandler

# Signed tokens are long runs of URL-safe characters; ids and words in our paths are far shorter.
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]{40,}")


def redact(text: str) -> str:
    """Replace every token-like run in a request line or path by [redacted]."""
    return _TOKEN.sub("[redacted]", text)


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
        for key in ("r", "U", "q"):
            if isinstance(values.get(key), str):
                values[key] = redact(values[key])
        return values
