"""Domain errors that every presenter (API, UI, CLI) maps to its own output."""

from __future__ import annotations


class ServiceError(Exception):
    """Base for errors a caller can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(ServiceError):
    """Input broke a rule; `errors` maps each field to its reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(ServiceError):
    """The named record does not exist."""


class Conflict(ServiceError):
    """The request clashes with existing state (duplicate, suppressed address, wrong status)."""


class QueueUnavailable(ServiceError):
    """The work is recorded in the database, but the queue (Redis) is unreachable; it is picked up later."""


class Forbidden(ServiceError):
    """The caller may not do this to this record (e.g. approve their own campaign)."""


class NotConfigured(ValidationFailed):
    """A setting the action needs is missing; `errors` names each one (an Organisation page field or variable)."""
