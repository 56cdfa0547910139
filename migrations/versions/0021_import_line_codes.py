"""import report lines keep a stable problem code and its values, so pages show them in the reader's language

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Lines written before keep their English text, with no code: pages show that text as it is.
    with op.batch_alter_table('import_report_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('import_report_lines', schema=None) as batch_op:
        batch_op.drop_column('params')
        batch_op.drop_column('code')
