"""The one personal-data scrubber: no address, link token or query string reaches a log, job result or report.

Every process installs it once (`install_log_scrubber`) as the logging record factory, so every record of
every logger is scrubbed when it is created, before any handler (ours, RQ's, gunicorn's, werkzeug's) sees it.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType
from typing import Any

from sender.addresses import mask_phones

# Addresses as mail servers and libraries echo them (no TLD needed: `user@localhost` is one too).
_EMAIL = re.compile(r"[^\s<>()\[\],;:\"'@=/]+@[^\s<>()\[\],;:\"'@/]+")
# Signed tokens are long runs of URL-safe characters with digits or capitals; ids and words are shorter,
# and long Python names (lower case, in tracebacks) are not tokens.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-.])(?=[A-Za-z0-9_\-.]*[A-Z0-9])[A-Za-z0-9_\-.]{40,}")
# Whatever follows a link path (/u/, /p/ and any future one-letter token path) is a credential.
_TOKEN_PATH = re.compile(r"(/[a-z]/)[^\s/?#\"'<>]+")
# A query string may carry search terms such as ?email=…; keep the path, drop the values.
_QUERY = re.compile(r"(?<=[\w/.\-])\?[^\s\"'<>#]+")
# PostgreSQL's constraint details repeat the offending values: Key (email)=(jeanne@…).
_KEY_DETAIL = re.compile(r"(Key \([^)]*\)=\().*?(\)(?: already exists| is not present|\s|$))")

REDACTED = "[redacted]"

# Exceptions whose messages we write ourselves or that only describe infrastructure keep their (scrubbed)
# text in tracebacks; any other message (a template error, a driver error) may quote personal data.
_TRUSTED_MESSAGES = ("sender.", "redis.", "rq.", "smtplib.", "socket.", "ssl.")
_TRUSTED_BUILTINS = frozenset(
    {"ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "TimeoutError", "OSError"}
)
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(: .*)?$")


def scrub(text: str) -> str:
    """Replace addresses, phone numbers, link tokens, query strings and constraint values in `text`."""
    text = _KEY_DETAIL.sub(rf"\g<1>{REDACTED}\g<2>", text)
    text = _QUERY.sub(f"?{REDACTED}", text)
    text = _TOKEN_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _TOKEN.sub(REDACTED, text)
    return mask_phones(_EMAIL.sub("<email>", text))


def _trusted(name: str) -> bool:
    return name.startswith(_TRUSTED_MESSAGES) or name in _TRUSTED_BUILTINS


def scrub_traceback(text: str) -> str:
    """A traceback with frames kept and exception messages withheld unless their kind is trusted."""
    out = []
    for line in text.splitlines():
        match = _EXCEPTION_LINE.match(line)
        if line.startswith((" ", "Traceback", "During handling", "The above exception")) or not match:
            out.append(scrub(line))
        elif match.group(2) and not _trusted(match.group(1)):
            out.append(f"{match.group(1)}: [message withheld: it may quote personal data]")
        else:
            out.append(scrub(line))
    return "\n".join(out)


def format_exception(
    exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None],
) -> str:
    """Format an exception like the traceback module, then scrub it."""
    return scrub_traceback("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


_base_factory = logging.getLogRecordFactory()


def _scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Create a record, then render its message and traceback now, scrubbed, dropping the raw parts."""
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: log it unformatted rather than lose the record
        message = str(record.msg)
    record.msg, record.args = scrub(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = format_exception(record.exc_info)
    record.exc_info = None
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


def install_log_scrubber() -> None:
    """Make every log record of this process scrubbed at creation (idempotent)."""
    if logging.getLogRecordFactory() is not _scrubbed_record:
        logging.setLogRecordFactory(_scrubbed_record)
