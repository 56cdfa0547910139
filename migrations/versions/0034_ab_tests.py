"""A/B tests: a campaign's test and its alternative contents, and the variant each delivery carries

Revision ID: 0034
Revises: 0033
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0034'
down_revision: str | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'ab_tests',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('test_percent', sa.Integer(), nullable=False),
        sa.Column('wait_minutes', sa.Integer(), nullable=False),
        sa.Column('decide_by', sa.String(length=16), nullable=False),
        sa.Column('decide_at', sa.DateTime(), nullable=True),
        sa.Column('winner', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=True),
        sa.CheckConstraint("decide_by IN ('clicks', 'manual')", name=op.f('ck_ab_tests_decide_by')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_ab_tests_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_ab_tests')),
    )
    op.create_table(
        'campaign_variants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('body_source', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('body_text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['ab_tests.campaign_id'],
                                name=op.f('fk_campaign_variants_campaign_id_ab_tests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_variants')),
        sa.UniqueConstraint('campaign_id', 'position', name=op.f('uq_campaign_variants_campaign_id')),
    )
    # A plain ADD COLUMN (no table rebuild on SQLite): the deliveries' summary-count triggers stay in place.
    op.add_column('deliveries', sa.Column('variant', sa.Integer(), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place (3.35+), so its triggers stay too.
    op.drop_column('deliveries', 'variant')
    op.drop_table('campaign_variants')
    op.drop_table('ab_tests')
