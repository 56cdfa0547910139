"""chart indexes: consent events by the campaign a withdrawal came through

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The report's and the dashboard's unsubscribes read withdrawals by the campaign they came through
    # (collection_point); the index by moment came with the summary counts (0028).
    op.create_index('ix_consent_events_collection_point', 'consent_events', ['collection_point'])


def downgrade() -> None:
    op.drop_index('ix_consent_events_collection_point', table_name='consent_events')
