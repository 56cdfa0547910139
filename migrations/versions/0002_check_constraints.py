"""CHECK constraints for channels, statuses, kinds, consent actions and sources, and staff roles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 18:10:00

The value lists are written out here on purpose: a migration must not change when the code does. They
match sender/enums.py at this revision (tests/test_migrations.py checks that the two agree).
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = ('email', 'sms')
CHECKS = {
    'contacts': {'status': ('active', 'restricted', 'erased', 'pending')},
    'suppressions': {'channel': CHANNELS},
    'campaigns': {
        'status': ('draft', 'scheduled', 'sending', 'sent', 'paused', 'cancelled'),
        'kind': ('marketing', 'legal_notice', 'requalification'),
        'channel': CHANNELS,
    },
    'deliveries': {'status': ('queued', 'sending', 'sent', 'failed', 'skipped', 'unknown', 'cancelled', 'deferred')},
    'consent_events': {
        'channel': CHANNELS,
        'action': ('grant', 'withdraw', 'request'),
        'source': (
            'api', 'form', 'import', 'admin', 'double_opt_in', 'requalification', 'portal', 'sms_keyword',
            'one_click', 'unsubscribe_page',
        ),
    },
    'consent_states': {'channel': CHANNELS, 'status': ('granted', 'pending', 'withdrawn')},
    'users': {'role': ('admin', 'marketer', 'dpo')},
}


def _condition(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    # On SQLite each table is rebuilt (env.py turns foreign keys off meanwhile, so no cascade fires).
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                batch.create_check_constraint(op.f(f'ck_{table}_{column}'), _condition(column, values))


def downgrade() -> None:
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f'ck_{table}_{column}'), type_='check')
