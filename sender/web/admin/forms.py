"""The base form of staff pages (Flask-WTF: CSRF token included) and helpers to show service errors."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

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


def choices(pairs: Iterable[tuple[str, str]] | Iterable[str]) -> list[SelectChoice]:
    """Select options from (value, label) pairs or plain values."""
    return [
        SelectChoice(item, item) if isinstance(item, str) else SelectChoice(item[0], item[1])
        for item in pairs
    ]
