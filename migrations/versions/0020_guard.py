"""sender authentication and the circuit breaker: DKIM selector and domain, why a campaign was paused

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisation_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dkim_selector", sa.String(length=63), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("dkim_domain", sa.String(length=253), nullable=False, server_default="")
        )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("resumed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_sent_at", ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_sent_at")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("resumed_at")
        batch_op.drop_column("paused_reason")
    with op.batch_alter_table("organisation_settings", schema=None) as batch_op:
        batch_op.drop_column("dkim_domain")
        batch_op.drop_column("dkim_selector")
