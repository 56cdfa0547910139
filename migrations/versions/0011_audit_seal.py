"""audit trail sealed after commit, and its checkpoints

Audit events are appended without a lock and chained afterwards by a sealer (`seq`, `prev_hash`, `hash`
are filled then), so audited transactions no longer run one at a time. Existing rows were chained in id
order: their position is their id. Checkpoints record the chain's head under an HMAC so that a deleted
tail shows.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
        batch.create_unique_constraint(op.f('uq_audit_events_seq'), ['seq'])
    op.execute('UPDATE audit_events SET seq = id')
    # The sealer looks for what is not sealed yet: a small partial index, whatever the trail's length.
    op.create_index('ix_audit_events_unsealed', 'audit_events', ['id'], unique=False,
                    postgresql_where=sa.text('seq IS NULL'), sqlite_where=sa.text('seq IS NULL'))
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints'))
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
    op.drop_index('ix_audit_events_unsealed', table_name='audit_events')
    op.execute('DELETE FROM audit_events WHERE seq IS NULL')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_constraint(op.f('uq_audit_events_seq'), type_='unique')
        batch.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch.drop_column('seq')
