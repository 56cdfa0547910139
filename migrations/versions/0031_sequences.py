"""sequences: sequences, their steps (each an internal campaign of kind 'sequence') and enrolments; a
delivery's round, so that a person who enters a sequence again gets each step once per passage

Revision ID: 0031
Revises: 0032
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op


revision: str = '0031'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('marketing', 'legal_notice', 'requalification')


def _condition(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _summary_counts() -> ModuleType:
    """Migration 0028, whose trigger definitions keep delivery_tallies."""
    spec = importlib.util.spec_from_file_location("summary_counts_0028", Path(__file__).with_name("0028_summary_counts.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _keep_delivery_tallies() -> None:
    """SQLite: batch mode rebuilt `deliveries`, and a dropped table takes its triggers with it: put back
    those of 0028 that keep delivery_tallies (PostgreSQL altered the table in place and kept them)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    counts = _summary_counts()
    for tally in counts.TALLIES:
        if tally.source == "deliveries":
            for operation in counts.OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS {tally.table}_{operation.lower()}")
                op.execute(tally.sqlite_trigger(operation))


def upgrade() -> None:
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint(op.f('ck_campaigns_kind'), type_='check')
        batch.create_check_constraint(op.f('ck_campaigns_kind'), _condition('kind', (*KINDS, 'sequence')))
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('round', sa.Integer(), nullable=False, server_default='0'))
        batch.drop_constraint(op.f('uq_deliveries_campaign_id'), type_='unique')
        batch.create_unique_constraint(
            op.f('uq_deliveries_campaign_id'), ['campaign_id', 'contact_id', 'round']
        )
    _keep_delivery_tallies()
    op.create_table('sequences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('trigger_list_id', sa.Integer(), nullable=True),
    sa.Column('trigger_segment_id', sa.Integer(), nullable=True),
    sa.Column('trigger_field', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('activated_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint(_condition('status', ('draft', 'active', 'paused')), name=op.f('ck_sequences_status')),
    sa.CheckConstraint(
        _condition('trigger', ('consent', 'list', 'segment', 'date')), name=op.f('ck_sequences_trigger')
    ),
    sa.ForeignKeyConstraint(['purpose_id'], ['purposes.id'], name=op.f('fk_sequences_purpose_id_purposes')),
    sa.ForeignKeyConstraint(
        ['trigger_list_id'], ['lists.id'], name=op.f('fk_sequences_trigger_list_id_lists'), ondelete='SET NULL'
    ),
    sa.ForeignKeyConstraint(
        ['trigger_segment_id'], ['segments.id'], name=op.f('fk_sequences_trigger_segment_id_segments'),
        ondelete='SET NULL',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequences'))
    )
    op.create_index(op.f('ix_sequences_purpose_id'), 'sequences', ['purpose_id'], unique=False)
    op.create_index(op.f('ix_sequences_status'), 'sequences', ['status'], unique=False)
    op.create_table('sequence_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('delay_value', sa.Integer(), nullable=False),
    sa.Column('delay_unit', sa.String(length=8), nullable=False),
    sa.Column('at_time', sa.String(length=5), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.CheckConstraint(_condition('delay_unit', ('hours', 'days')), name=op.f('ck_sequence_steps_delay_unit')),
    sa.ForeignKeyConstraint(
        ['campaign_id'], ['campaigns.id'], name=op.f('fk_sequence_steps_campaign_id_campaigns')
    ),
    sa.ForeignKeyConstraint(
        ['sequence_id'], ['sequences.id'], name=op.f('fk_sequence_steps_sequence_id_sequences'),
        ondelete='CASCADE',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sequence_steps')),
    sa.UniqueConstraint('campaign_id', name=op.f('uq_sequence_steps_campaign_id')),
    sa.UniqueConstraint('sequence_id', 'position', name=op.f('uq_sequence_steps_sequence_id'))
    )
    op.create_table('enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(), nullable=True),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('trigger_key', sa.String(length=64), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('exit_reason', sa.String(length=32), nullable=True),
    sa.CheckConstraint(
        _condition('status', ('active', 'completed', 'exited')), name=op.f('ck_enrolments_status')
    ),
    sa.ForeignKeyConstraint(
        ['contact_id'], ['contacts.id'], name=op.f('fk_enrolments_contact_id_contacts'), ondelete='CASCADE'
    ),
    sa.ForeignKeyConstraint(
        ['sequence_id'], ['sequences.id'], name=op.f('fk_enrolments_sequence_id_sequences'), ondelete='CASCADE'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolments'))
    )
    op.create_index(op.f('ix_enrolments_contact_id'), 'enrolments', ['contact_id'], unique=False)
    op.create_index('ix_enrolments_status_due', 'enrolments', ['status', 'next_due_at'], unique=False)
    op.create_index(
        'uq_enrolments_active', 'enrolments', ['sequence_id', 'contact_id'], unique=True,
        postgresql_where=sa.text("status = 'active'"), sqlite_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index('uq_enrolments_active', table_name='enrolments')
    op.drop_index('ix_enrolments_status_due', table_name='enrolments')
    op.drop_index(op.f('ix_enrolments_contact_id'), table_name='enrolments')
    op.drop_table('enrolments')
    op.drop_table('sequence_steps')
    op.drop_index(op.f('ix_sequences_status'), table_name='sequences')
    op.drop_index(op.f('ix_sequences_purpose_id'), table_name='sequences')
    op.drop_table('sequences')
    op.execute("DELETE FROM campaigns WHERE kind = 'sequence'")
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_constraint(op.f('uq_deliveries_campaign_id'), type_='unique')
        batch.create_unique_constraint(op.f('uq_deliveries_campaign_id'), ['campaign_id', 'contact_id'])
        batch.drop_column('round')
    _keep_delivery_tallies()
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint(op.f('ck_campaigns_kind'), type_='check')
        batch.create_check_constraint(op.f('ck_campaigns_kind'), _condition('kind', KINDS))
