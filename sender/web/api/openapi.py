"""API resource: openapi."""

from sender.web.api import bp  # noqa: F401
