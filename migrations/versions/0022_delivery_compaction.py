"""deliveries compacted by age (delivery_counts), and the indexes of a million contacts

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'queued', 'sending', 'sent', 'failed', 'skipped', 'unknown', 'cancelled', 'deferred', 'bounced'"


def upgrade() -> None:
    op.create_table('delivery_counts',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f('ck_delivery_counts_status')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                            name=op.f('fk_delivery_counts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'status', 'reason', name=op.f('pk_delivery_counts'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_created_at')
    op.drop_table('delivery_counts')
