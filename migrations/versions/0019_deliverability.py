"""deliverability: bounce and complaint reports, the `bounced` delivery status, the `complaint` consent source

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY_STATUSES = ('queued', 'sending', 'sent', 'failed', 'skipped', 'unknown', 'cancelled', 'deferred')
CONSENT_SOURCES = (
    'api', 'form', 'import', 'admin', 'double_opt_in', 'requalification', 'portal', 'sms_keyword',
    'one_click', 'unsubscribe_page',
)


def _condition(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_check(table: str, column: str, values: Sequence[str]) -> None:
    # On SQLite the table is rebuilt (env.py turns foreign keys off meanwhile, so no cascade fires).
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
        batch.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, values))


def upgrade() -> None:
    op.create_table('delivery_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('report_key', sa.String(length=64), nullable=False),
    sa.Column('sending_domain', sa.String(length=255), nullable=False),
    sa.Column('detail', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('hard_bounce', 'soft_bounce', 'complaint')", name=op.f('ck_delivery_feedback_kind')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_delivery_feedback_campaign_id_campaigns'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_delivery_feedback_contact_id_contacts'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'],
                            name=op.f('fk_delivery_feedback_delivery_id_deliveries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_feedback')),
    sa.UniqueConstraint('report_key', name=op.f('uq_delivery_feedback_report_key')),
    sa.UniqueConstraint('delivery_id', 'kind', name=op.f('uq_delivery_feedback_delivery_id'))
    )
    with op.batch_alter_table('delivery_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_feedback_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_feedback_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_feedback_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_index('ix_delivery_feedback_domain_received', ['sending_domain', 'received_at'], unique=False)
    _replace_check('deliveries', 'status', (*DELIVERY_STATUSES, 'bounced'))
    _replace_check('consent_events', 'source', (*CONSENT_SOURCES, 'complaint'))


def downgrade() -> None:
    _replace_check('consent_events', 'source', CONSENT_SOURCES)
    _replace_check('deliveries', 'status', DELIVERY_STATUSES)
    with op.batch_alter_table('delivery_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_feedback_domain_received')
        batch_op.drop_index(batch_op.f('ix_delivery_feedback_delivery_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_feedback_contact_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_feedback_campaign_id'))
    op.drop_table('delivery_feedback')
