"""The base form of staff pages (Flask-WTF: CSRF token included) and the one way a form or button acts.

A staff action calls one service through `run_action` and never commits: the request's unit of work
commits once the view has answered below 400 (sender.web.session). A refusal rolls back what the call
wrote (`discard`, so that a redirect after it commits nothing) and is shown: next to the form's fields
when the page is rendered again, else flashed where the browser is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from sender.services.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from sender.services.input import INT_RANGE, unstorable
from sender.web.bounds import column_length
from sender.web.labels import say
from sender.web.session import discard

T = TypeVar("T")

# What a service may refuse, and the status of a form page shown again for it. NotFound is not here: it
# is the app-wide 404, unless a view names a field for it (a choice that no longer exists).
REFUSALS: dict[type[ServiceError], int] = {ValidationFailed: 422, Conflict: 409, Forbidden: 403}


class Form(FlaskForm):
    """Every staff form: a CSRF token, fields validated server-side, nothing unstorable let through."""

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        """The fields' own validators, then the rule of every input: text with no NUL or lone surrogate,
        integers within an Integer column (the database would refuse them with an error, not a message)."""
        valid = super().validate(extra_validators)
        return self.storable() and valid

    def storable(self) -> bool:
        """Put the rule's reason beside each field holding what the database cannot store; False if any."""
        storable = True
        for field in _leaves(self):
            reason = unstorable(field.data)
            if reason is not None:
                field.errors = [*field.errors, gettext(reason, **INT_RANGE)]
                storable = False
        return storable


def _leaves(fields: Iterable[Field]) -> Iterator[Field]:
    """Every input field, those of nested forms and lists included, so a reason lands at its own input."""
    for field in fields:
        if isinstance(field, FieldList):
            yield from _leaves(field.entries)
        elif isinstance(field, FormField):
            yield from _leaves(field.form)
        else:
            yield field


def fits(column: Any) -> Length:
    """A length validator at the size of the column a field is stored in (PostgreSQL refuses longer text)."""
    return Length(max=column_length(column))


def reasons(exc: ServiceError) -> list[str]:
    """What a refusal says, one reason per field, without the input names it is keyed by."""
    if isinstance(exc, ValidationFailed):
        return [say(message) for message in exc.errors.values()]
    return [say(exc.message)]


def attach_errors(form: FlaskForm, exc: ValidationFailed) -> list[str]:
    """Put a service's field errors next to the matching fields; returns the reasons with no field."""
    orphans: list[str] = []
    for name, message in exc.errors.items():
        field = form._fields.get(name)
        if field is None:
            orphans.append(say(message))
        else:
            field.errors = [*field.errors, say(message)]
    return orphans


def choices(pairs: Iterable[tuple[str, str]] | Iterable[str]) -> list[SelectChoice]:
    """Select options from (value, label) pairs or plain values."""
    return [
        SelectChoice(item, item) if isinstance(item, str) else SelectChoice(item[0], item[1])
        for item in pairs
    ]


def _show(
    exc: ServiceError, form: FlaskForm | None, fields: Mapping[type[ServiceError], str], category: str
) -> None:
    """Field errors next to their fields; what has no field is flashed."""
    if isinstance(exc, ValidationFailed) and form is not None:
        for orphan in attach_errors(form, exc):
            flash(orphan, category)
        return
    name = next((name for kind, name in fields.items() if isinstance(exc, kind)), None)
    if form is not None and name is not None:
        form[name].errors = [say(exc.message)]
    else:
        for reason in reasons(exc):
            flash(reason, category)


def run_action(
    call: Callable[[], T],
    *,
    success: str | Callable[[T], str] | None,
    redirect_to: str | Callable[[T], str],
    refused: str | Callable[[int], ResponseReturnValue] | None = None,
    form: FlaskForm | None = None,
    fields: Mapping[type[ServiceError], str] | None = None,
    status: int | None = None,
    category: str = "error",
    code: int = 302,
) -> ResponseReturnValue:
    """Call the service; flash `success` and redirect, or discard what it wrote and show its refusal.

    `refused` says where a refusal goes: a URL (its message is flashed there; default `redirect_to`), or a
    function that renders the form's page again with a status (`status`, else 422 / 409 / 403 by kind)
    after the refusal is put next to `form`'s fields; `fields` names the field of other kinds of refusal
    (a NotFound listed there is caught too).
    """
    named = fields or {}
    try:
        result = call()
    except (*REFUSALS, *named) as exc:
        discard()
        if callable(refused):
            _show(exc, form, named, category)
            return refused(status or next((s for k, s in REFUSALS.items() if isinstance(exc, k)), 422))
        target = refused or redirect_to
        if callable(target):
            raise TypeError("run_action: a refusal needs a URL to go to") from exc
        for reason in reasons(exc):
            flash(reason, category)
        return redirect(target, code)
    if success is not None:
        flash(success(result) if callable(success) else success, "success")
    return redirect(redirect_to(result) if callable(redirect_to) else redirect_to, code)
