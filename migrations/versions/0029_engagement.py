"""engagement: tracking consent purposes, campaign tracking mode, campaign links, click and open events

Revision ID: 0029
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0029'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('click', 'open')"
CLASSES = "classification IN ('human', 'scanner', 'machine_open')"


def upgrade() -> None:
    with op.batch_alter_table('purposes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='marketing'))
        batch_op.create_check_constraint(op.f('ck_purposes_kind'), "kind IN ('marketing', 'tracking')")
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_mode', sa.String(length=16), nullable=False, server_default='off'))
        batch_op.create_check_constraint(
            op.f('ck_campaigns_tracking_mode'), "tracking_mode IN ('off', 'aggregate', 'per_person')"
        )
    op.create_table('campaign_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.SmallInteger(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_links_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_links'))
    )
    op.create_index(op.f('ix_campaign_links_campaign_id'), 'campaign_links', ['campaign_id'], unique=False)
    op.create_table('engagement_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.SmallInteger(), nullable=True),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('visitor_key', sa.String(length=32), nullable=True),
    sa.CheckConstraint(KINDS, name=op.f('ck_engagement_events_kind')),
    sa.CheckConstraint(CLASSES, name=op.f('ck_engagement_events_classification')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_engagement_events_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_engagement_events_delivery_id_deliveries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['link_id'], ['campaign_links.id'], name=op.f('fk_engagement_events_link_id_campaign_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_events'))
    )
    op.create_index('ix_engagement_events_campaign_kind', 'engagement_events', ['campaign_id', 'kind', 'classification', 'occurred_at'], unique=False)
    op.create_index('ix_engagement_events_occurred_at', 'engagement_events', ['occurred_at'], unique=False)
    op.create_index(op.f('ix_engagement_events_delivery_id'), 'engagement_events', ['delivery_id'], unique=False)
    op.create_index(op.f('ix_engagement_events_link_id'), 'engagement_events', ['link_id'], unique=False)
    op.create_table('engagement_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.SmallInteger(), nullable=True),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.CheckConstraint(KINDS, name=op.f('ck_engagement_daily_kind')),
    sa.CheckConstraint(CLASSES, name=op.f('ck_engagement_daily_classification')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_engagement_daily_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['campaign_links.id'], name=op.f('fk_engagement_daily_link_id_campaign_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement_daily'))
    )
    op.create_index(op.f('ix_engagement_daily_campaign_id'), 'engagement_daily', ['campaign_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_engagement_daily_campaign_id'), table_name='engagement_daily')
    op.drop_table('engagement_daily')
    op.drop_index(op.f('ix_engagement_events_link_id'), table_name='engagement_events')
    op.drop_index(op.f('ix_engagement_events_delivery_id'), table_name='engagement_events')
    op.drop_index('ix_engagement_events_occurred_at', table_name='engagement_events')
    op.drop_index('ix_engagement_events_campaign_kind', table_name='engagement_events')
    op.drop_table('engagement_events')
    op.drop_index(op.f('ix_campaign_links_campaign_id'), table_name='campaign_links')
    op.drop_table('campaign_links')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaigns_tracking_mode'), type_='check')
        batch_op.drop_column('tracking_mode')
    with op.batch_alter_table('purposes', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_purposes_kind'), type_='check')
        batch_op.drop_column('kind')
