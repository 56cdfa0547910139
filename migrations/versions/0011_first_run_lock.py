"""first-run lock row: concurrent first-run setups create one admin

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 14:30:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('first_run',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_first_run_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_first_run'))
    )
    # An instance that already has its staff has had its first run.
    op.execute(
        "INSERT INTO first_run (id, done_at) SELECT 1, CURRENT_TIMESTAMP WHERE EXISTS (SELECT 1 FROM users)"
    )


def downgrade() -> None:
    op.drop_table('first_run')
