"""transactional messages carry their request's variables

Revision ID: 0033
Revises: 0031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0033'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('transactional_messages') as batch:
        batch.add_column(sa.Column('variables', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('transactional_messages') as batch:
        batch.alter_column('variables', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('transactional_messages') as batch:
        batch.drop_column('variables')
