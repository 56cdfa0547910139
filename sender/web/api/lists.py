"""API resource: lists."""

from sender.web.api import bp  # noqa: F401
