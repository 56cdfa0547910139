"""breach register: incidents with their 72-hour clock, and the legal notices sent to the people affected

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('breach_incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('people_affected', sa.Integer(), nullable=False),
    sa.Column('records_affected', sa.Integer(), nullable=False),
    sa.Column('likely_consequences', sa.Text(), nullable=False),
    sa.Column('measures_taken', sa.Text(), nullable=False),
    sa.Column('high_risk', sa.Boolean(), nullable=False),
    sa.Column('aware_at', sa.DateTime(), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.Column('notification_reference', sa.String(length=200), nullable=True),
    sa.Column('late_reasons', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_incidents'))
    )
    op.create_index(op.f('ix_breach_incidents_aware_at'), 'breach_incidents', ['aware_at'], unique=False)
    op.create_table('breach_notices',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approval_note', sa.Text(), nullable=True),
    sa.Column('approved_digest', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_breach_notices_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['breach_incidents.id'], name=op.f('fk_breach_notices_incident_id_breach_incidents')),
    sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_breach_notices'))
    )
    op.create_index(op.f('ix_breach_notices_incident_id'), 'breach_notices', ['incident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_breach_notices_incident_id'), table_name='breach_notices')
    op.drop_table('breach_notices')
    op.drop_index(op.f('ix_breach_incidents_aware_at'), table_name='breach_incidents')
    op.drop_table('breach_incidents')
