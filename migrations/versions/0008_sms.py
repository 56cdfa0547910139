"""sms: deferred deliveries, provider status, incoming SMS

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('provider_status', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_deliveries_status_not_before', ['status', 'not_before'], unique=False)

    op.create_table('inbound_sms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('phone_hash', sa.String(length=64), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('keyword', sa.String(length=32), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_inbound_sms_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_sms')),
    sa.UniqueConstraint('message_sid', name=op.f('uq_inbound_sms_message_sid'))
    )
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_sms_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_sms_phone_hash'), ['phone_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbound_sms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_sms_phone_hash'))
        batch_op.drop_index(batch_op.f('ix_inbound_sms_contact_id'))
    op.drop_table('inbound_sms')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_not_before')
        batch_op.drop_column('provider_status')
        batch_op.drop_column('not_before')
