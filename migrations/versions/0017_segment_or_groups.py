"""segment rules become an OR of AND-groups: {"groups": [old rules]}

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 15:20:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

segments = sa.table('segments', sa.column('id', sa.Integer), sa.column('rules', sa.JSON))


def _rewrite(change: Any) -> None:
    conn = op.get_bind()
    for row in conn.execute(sa.select(segments.c.id, segments.c.rules)).all():
        rules = change(row.rules or {})
        if rules is not None:
            conn.execute(segments.update().where(segments.c.id == row.id).values(rules=rules))


def upgrade() -> None:
    # One group holding the old filters (all of which had to match): the same members as before.
    _rewrite(lambda rules: None if 'groups' in rules else {'groups': [rules]})


def downgrade() -> None:
    # The old format has no OR and no attribute conditions: keep the first group's other filters.
    def first_group(rules: dict[str, Any]) -> dict[str, Any] | None:
        if 'groups' not in rules:
            return None
        group = dict((rules['groups'] or [{}])[0])
        group.pop('attributes', None)
        return group

    _rewrite(first_group)
