"""API resource: campaigns."""

from sender.web.api import bp  # noqa: F401
