"""SpamAssassin's hints for a message, when a `spamc` or `spamassassin` binary is on the host (optional)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

# The report lines of `spamassassin -t` and `spamc -R`: " 1.2 RULE_NAME  Description".
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")
_SCORE = re.compile(r"(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SpamReport:
    """The score, the threshold and the rules that hit (score, name, description)."""

    score: float
    threshold: float
    rules: list[tuple[float, str, str]]


def command() -> list[str] | None:
    """How to ask SpamAssassin for a report on this host, or None when neither binary is found."""
    if spamc := shutil.which("spamc"):
        return [spamc, "-R"]
    if spamassassin := shutil.which("spamassassin"):
        return [spamassassin, "-t", "-L"]
    return None


def report(message: bytes) -> SpamReport | None:
    """SpamAssassin's report on a whole message (headers and parts); None when unavailable or it fails."""
    argv = command()
    if argv is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603  (argv is a binary found on PATH, the input our message)
            argv, input=message, capture_output=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = done.stdout.decode("utf-8", "replace")
    score = _SCORE.search(output)
    rules = [
        (float(m.group(1)), m.group(2), m.group(3).strip())
        for line in output.splitlines()
        if (m := _RULE.match(line))
    ]
    if score is None:
        return None
    return SpamReport(float(score.group(1)), float(score.group(2)), rules)
