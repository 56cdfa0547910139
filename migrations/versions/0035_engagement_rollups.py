"""engagement rollups: whole past days of click and open events counted, so reports read counts, not rows

Revision ID: 0035
Revises: 0034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0035'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('click', 'open')"
CLASSES = "classification IN ('human', 'scanner', 'machine_open')"


def upgrade() -> None:
    op.create_table('engagement_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.SmallInteger(), nullable=True),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('all_variants', sa.Boolean(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.CheckConstraint(KINDS, name=op.f('ck_engagement_rollups_kind')),
    sa.CheckConstraint(CLASSES, name=op.f('ck_engagement_rollups_classification')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_engagement_rollups_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['campaign_links.id'], name=op.f('fk_engagement_rollups_link_id_campaign_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_rollups'))
    )
    op.create_index('ix_engagement_rollups_campaign_day', 'engagement_rollups', ['campaign_id', 'day'], unique=False)
    op.create_index('ix_engagement_rollups_day', 'engagement_rollups', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_engagement_rollups_day', table_name='engagement_rollups')
    op.drop_index('ix_engagement_rollups_campaign_day', table_name='engagement_rollups')
    op.drop_table('engagement_rollups')
