"""delivery counts by A/B variant: delivery_tallies and delivery_counts keep their rows' variant, so a
test's report counts each variant's messages from the summary counts, before and after compaction

Revision ID: 0036
Revises: 0035

The triggers of 0028 that keep delivery_tallies are replaced by the same ones with the variant in their key.
A later migration that rebuilds `deliveries` on SQLite (which drops its triggers) puts back these, as 0031
put back those of 0028. Deliveries compacted before this revision stay counted without their variant.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import op


revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# delivery_counts' variant of rows without one (a primary key column cannot be NULL).
NO_VARIANT = -1


def _summary_counts() -> ModuleType:
    """Migration 0028, whose trigger builder and definitions keep delivery_tallies."""
    spec = importlib.util.spec_from_file_location(
        "summary_counts_0028", Path(__file__).with_name("0028_summary_counts.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _deliveries_tally(counts: ModuleType) -> Any:
    """0028's delivery_tallies."""
    return next(tally for tally in counts.TALLIES if tally.source == "deliveries")


def delivery_tally() -> Any:
    """delivery_tallies kept by variant too: 0028's keys, the variant after the reason."""
    counts = _summary_counts()
    old = _deliveries_tally(counts)
    keys = dict(old.keys)
    sent_hour = keys.pop("sent_hour")
    keys.update(variant="{r}.variant", sent_hour=sent_hour)
    return counts.Tally(old.table, old.source, old.parent, old.parent_column, keys)


def _replace_triggers(tally: Any, operations: Sequence[str]) -> None:
    """Drop the triggers that keep delivery_tallies and create `tally`'s in their place."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for operation in operations:
        name = f"{tally.table}_{operation.lower()}"
        if postgresql:
            op.execute(f"DROP TRIGGER {name} ON {tally.source}")
            op.execute(f"DROP FUNCTION {name}()")
            op.execute(tally.pg_function(operation))
            op.execute(tally.pg_trigger(operation))
        else:
            op.execute(f"DROP TRIGGER {name}")
            op.execute(tally.sqlite_trigger(operation))


def upgrade() -> None:
    counts = _summary_counts()
    tally = delivery_tally()
    # Plain ADD COLUMNs: no table is rebuilt, so the deliveries' triggers are only the ones replaced below.
    op.add_column("delivery_tallies", sa.Column("variant", sa.Integer(), nullable=True))
    _replace_triggers(tally, counts.OPERATIONS)
    # Only tested campaigns' rows carry a variant: their tallies are counted again, by the new key.
    postgresql = op.get_bind().dialect.name == "postgresql"
    names = ", ".join(tally.keys)
    key = ", ".join(counts.sql_of(sql, "deliveries", postgresql) for sql in tally.keys.values())
    tested = "campaign_id IN (SELECT campaign_id FROM ab_tests)"
    op.execute(f"DELETE FROM delivery_tallies WHERE {tested}")
    op.execute(
        f"INSERT INTO delivery_tallies ({names}, delta)"
        f" SELECT {key}, count(*) FROM deliveries WHERE {tested} GROUP BY {key}"
    )
    # delivery_counts has no triggers: SQLite may rebuild it to change its primary key.
    with op.batch_alter_table("delivery_counts") as batch:
        batch.add_column(sa.Column("variant", sa.Integer(), nullable=False, server_default=str(NO_VARIANT)))
        batch.drop_constraint(op.f("pk_delivery_counts"), type_="primary")
        batch.create_primary_key(op.f("pk_delivery_counts"), ["campaign_id", "status", "reason", "variant"])


def downgrade() -> None:
    counts = _summary_counts()
    # The variants' counts merge into one row per (campaign, status, reason) again.
    bind = op.get_bind()
    merged = bind.execute(
        sa.text(
            "SELECT campaign_id, status, reason, sum(count) FROM delivery_counts"
            " GROUP BY campaign_id, status, reason"
        )
    ).all()
    op.execute("DELETE FROM delivery_counts")
    with op.batch_alter_table("delivery_counts") as batch:
        batch.drop_constraint(op.f("pk_delivery_counts"), type_="primary")
        batch.drop_column("variant")
        batch.create_primary_key(op.f("pk_delivery_counts"), ["campaign_id", "status", "reason"])
    table = sa.table(
        "delivery_counts",
        sa.column("campaign_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("reason", sa.String()),
        sa.column("count", sa.Integer()),
    )
    if merged:
        op.bulk_insert(
            table, [{"campaign_id": c, "status": s, "reason": r, "count": int(n)} for c, s, r, n in merged]
        )
    _replace_triggers(_deliveries_tally(counts), counts.OPERATIONS)
    # SQLite drops a column in place (3.35+); the tallies of several variants keep their sums without it.
    op.drop_column("delivery_tallies", "variant")
