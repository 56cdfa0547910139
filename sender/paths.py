"""Where the top-level templates/ and migrations/ folders are, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the checkout's top-level folder `name`, or the copy a wheel carries as sender/_name."""
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE / f"_{name}"
