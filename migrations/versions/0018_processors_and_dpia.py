"""processors inventory (Art. 28, 44-46) and the DPIA of purposes (Art. 35)

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('processors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('transfer_mechanism', sa.String(length=16), nullable=True),
    sa.Column('contract_ref', sa.String(length=200), nullable=True),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("transfer_mechanism IN ('eea', 'adequacy', 'dpf', 'scc', 'bcr', 'none')",
                       name=op.f('ck_processors_transfer_mechanism')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processors')),
    sa.UniqueConstraint('key', name=op.f('uq_processors_key'))
    )
    op.create_table('purpose_dpias',
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('reviewer', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("outcome IN ('acceptable', 'acceptable_with_measures', 'prior_consultation')",
                       name=op.f('ck_purpose_dpias_outcome')),
    sa.ForeignKeyConstraint(['purpose_id'], ['purposes.id'], name=op.f('fk_purpose_dpias_purpose_id_purposes'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('purpose_id', name=op.f('pk_purpose_dpias'))
    )


def downgrade() -> None:
    op.drop_table('purpose_dpias')
    op.drop_table('processors')
