"""delivery started_at: when a claimed message was handed to the provider

A claim whose sending never started goes back to the queue when its lease expires; only a started one
(its SMTP transaction or Twilio call begun) can have reached the person, and is marked unknown.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('started_at')
