"""The composer's body: its format, the switch between formats (converted here, on the server), the derived
plain text, the contact fields it can insert and the sample contact its preview shows."""

from __future__ import annotations

from typing import Any, Protocol

from flask import request
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from wtforms import Field

from sender.enums import BodyFormat
from sender.models import Contact
from sender.services.audience import attribute_keys
from sender.services.errors import ValidationFailed
from sender.services.messages import fields, formats, preview
from sender.web.session import get_session

# The name of the composer's "Convert" button: the form is converted and shown again, never saved.
CONVERT = "convert"
# The composer's field naming the contact its preview shows (an address, posted, never in a URL).
SAMPLE = "sample"


class BodyForm(Protocol):
    """The composer form's body fields."""

    body_format: Field
    source_format: Field
    body_source: Field
    body_text: Field
    body_text_derived: Field


def _format(value: Any) -> str:
    return value if value in tuple(BodyFormat) else BodyFormat.HTML


def posted_parts(form: BodyForm) -> dict[str, str]:
    """The HTML and text templates of the body as posted (not saved); ValidationFailed if it cannot convert."""
    html, text = formats.parts(
        _format(form.body_format.data),
        form.body_source.data or "",
        form.body_text.data or "",
        text_derived=bool(form.body_text_derived.data),
    )
    return {"body_html": html, "body_text": text}


def convert(form: BodyForm) -> int:
    """Convert the posted body from the format it is written in to the one chosen; the page's status.

    The form is shown again with the converted body and the notice of what the switch keeps and loses;
    nothing is saved. A body that cannot be converted stays as it was, with the reason beside it.
    """
    source, target = _format(form.source_format.data), _format(form.body_format.data)
    try:
        form.body_source.data = formats.convert(form.body_source.data or "", source, target)
    except ValidationFailed as exc:
        form.body_format.data = source
        form.body_source.errors = [_(str(message)) for message in exc.errors.values()]
        return 422
    form.source_format.data = target
    if source != target:
        form.body_format.errors = []
        form.body_source.description = _(formats.SWITCH_NOTICES[BodyFormat(target)])
    return 200


def page_context() -> dict[str, Any]:
    """What the body area shows: the switch notices by target format and the fields one can insert."""
    return {
        "notices": {name: _(notice) for name, notice in formats.SWITCH_NOTICES.items()},
        "fields": fields.insertable(attribute_keys.recent_keys(get_session())),
        "sample": request.form.get(SAMPLE, "") if request.method == "POST" else "",
    }


def picked(session: Session) -> Contact:
    """The contact the preview shows: the one whose address was typed, else the documented sample."""
    return preview.picked_contact(session, request.form.get(SAMPLE), SAMPLE)
