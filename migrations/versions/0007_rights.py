"""rights requests register and single-use link tokens

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rights_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('received_via', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('extended_due_at', sa.DateTime(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('extension_notified_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_rights_requests_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_rights_requests_public_id'))
    )
    op.create_index(op.f('ix_rights_requests_contact_id'), 'rights_requests', ['contact_id'], unique=False)
    op.create_index('ix_rights_requests_status_due', 'rights_requests', ['status', 'due_at'], unique=False)
    op.create_table('used_tokens',
    sa.Column('jti', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_used_tokens'))
    )
    op.create_index(op.f('ix_used_tokens_used_at'), 'used_tokens', ['used_at'], unique=False)
    op.add_column('campaigns', sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_column('locale')
    op.drop_index(op.f('ix_used_tokens_used_at'), table_name='used_tokens')
    op.drop_table('used_tokens')
    op.drop_index('ix_rights_requests_status_due', table_name='rights_requests')
    op.drop_index(op.f('ix_rights_requests_contact_id'), table_name='rights_requests')
    op.drop_table('rights_requests')
