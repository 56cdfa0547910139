"""import file retention, per-row consent proof counts, the list an import fills, search by email domain

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_own_proof', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rows_batch_proof', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('rows_legacy', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('file_deleted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('list_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_import_batches_list_id_lists'), 'lists', ['list_id'], ['id'], ondelete='SET NULL'
        )
    # The part after the @, as sender.models.contacts.email_domain writes it on each backend.
    if op.get_bind().dialect.name == 'postgresql':
        domain = "split_part(email, '@', 2)"
    else:
        domain = "substr(email, instr(email, '@') + 1)"
    op.create_index('ix_contacts_email_domain', 'contacts', [sa.text(domain)], unique=False)
    # Files of batches already committed are not needed any more: delete them now.
    op.execute(
        "DELETE FROM import_file_chunks WHERE batch_id IN "
        "(SELECT id FROM import_batches WHERE status = 'committed')"
    )
    op.execute("UPDATE import_batches SET file_deleted_at = committed_at WHERE status = 'committed'")


def downgrade() -> None:
    op.drop_index('ix_contacts_email_domain', table_name='contacts')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_import_batches_list_id_lists'), type_='foreignkey')
        batch_op.drop_column('list_id')
        batch_op.drop_column('file_deleted_at')
        batch_op.drop_column('rows_legacy')
        batch_op.drop_column('rows_batch_proof')
        batch_op.drop_column('rows_own_proof')
