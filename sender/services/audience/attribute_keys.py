"""The organisation's custom contact attributes: the keys its contacts' `attributes` hold, for the insert menu."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sender.models import Contact
from sender.services.audience.profile import ATTRIBUTE_NAME

# Keys are read from the latest contacts only: the menu stays one bounded query however large the base.
SAMPLE = 5_000
MOST = 50


def recent_keys(session: Session, sample: int = SAMPLE, most: int = MOST) -> list[str]:
    """The distinct attribute keys of the `sample` latest contacts, sorted; at most `most` of them.

    Only keys a template can name as `contact.attributes.<key>` (letters, digits, `_`, not starting with a
    digit) are offered; the others stay readable with `contact.attributes["…"]`.
    """
    latest = (
        select(Contact.attributes.label("attributes")).order_by(Contact.id.desc()).limit(sample).subquery()
    )
    if session.get_bind().dialect.name == "postgresql":
        keys = (
            select(func.json_object_keys(latest.c.attributes).label("key"))
            .where(func.json_typeof(latest.c.attributes) == "object")
            .subquery()
        )
        stmt = select(keys.c.key).distinct()
    else:
        each = func.json_each(latest.c.attributes).table_valued("key")
        stmt = (
            select(each.c.key)
            .select_from(latest)
            .join(each, func.json_type(latest.c.attributes) == "object")
            .distinct()
        )
    found = sorted(
        key
        for key in session.scalars(stmt)
        if isinstance(key, str) and ATTRIBUTE_NAME.fullmatch(key) and not key[0].isdigit()
    )
    return found[:most]
