"""The base form of staff pages (Flask-WTF: CSRF token included) and helpers to show service errors."""

from __future__ import annotations

from flask_wtf import FlaskForm

from sender.services.errors import ValidationFailed


class Form(FlaskForm):
    """Every staff form: a CSRF token, fields validated server-side."""


def attach_errors(form: FlaskForm, exc: ValidationFailed) -> list[str]:
    """Put a service's field errors next to the matching fields; returns those with no field."""
    orphans: list[str] = []
    for name, message in exc.errors.items():
        field = form._fields.get(name)
        if field is None:
            orphans.append(f"{name}: {message}")
        else:
            field.errors = [*field.errors, message]
    return orphans
