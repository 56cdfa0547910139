"""setup lock row: concurrent first-run setups take turns, and create one admin

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 14:30:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('setup_lock',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_setup_lock_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setup_lock'))
    )
    op.execute("INSERT INTO setup_lock (id) VALUES (1)")


def downgrade() -> None:
    op.drop_table('setup_lock')
