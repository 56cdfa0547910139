"""API resource: consents."""

from sender.web.api import bp  # noqa: F401
