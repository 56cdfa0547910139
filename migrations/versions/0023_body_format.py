"""campaign body format: the body as written (rich text, Markdown, HTML or MJML) and a derived plain text

Existing campaigns were written in HTML: their source is their HTML, and their text part, written by hand,
is kept as it is.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_format', sa.String(length=16), nullable=False, server_default='html'))
        batch_op.add_column(sa.Column('body_source', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('body_text_derived', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_check_constraint(
            op.f('ck_campaigns_body_format'), "body_format IN ('richtext', 'markdown', 'html', 'mjml')"
        )
    op.execute("UPDATE campaigns SET body_source = body_html")


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaigns_body_format'), type_='check')
        batch_op.drop_column('body_text_derived')
        batch_op.drop_column('body_source')
        batch_op.drop_column('body_format')
