"""API resource: contacts."""

from sender.web.api import bp  # noqa: F401
