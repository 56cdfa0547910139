"""API resource: purposes."""

from sender.web.api import bp  # noqa: F401
