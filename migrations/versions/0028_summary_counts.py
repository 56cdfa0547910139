"""summary counts: delivery_tallies and list_tallies kept by triggers on deliveries and list_members, backfilled

Revision ID: 0028
Revises: 0024
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0028"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'queued', 'sending', 'sent', 'failed', 'skipped', 'unknown', 'cancelled', 'deferred', 'bounced'"


def sql_of(template: str, alias: str, postgresql: bool) -> str:
    """A key's SQL over the row `alias`; HOUR(x) is x's hour (as SQLAlchemy stores a DateTime on SQLite)."""
    text = template.format(r=alias)
    hour = r"date_trunc('hour', \1)" if postgresql else r"strftime('%Y-%m-%d %H:00:00.000000', \1)"
    return re.sub(r"HOUR\(([^()]*)\)", hour, text)


class Tally:
    """A tally table kept by triggers on `source`: its key columns, as SQL over a changed row."""

    def __init__(
        self, table: str, source: str, parent: str, parent_column: str, keys: dict[str, str]
    ) -> None:
        self.table, self.source, self.parent, self.parent_column, self.keys = (
            table,
            source,
            parent,
            parent_column,
            keys,
        )

    def pg_function(self, operation: str) -> str:
        """PostgreSQL: one statement-level trigger per operation reading the statement's transition tables: a
        statement that changes N rows appends one tally per key it touched, not N."""

        def rows(alias: str, delta: int) -> str:
            key = ", ".join(f"{sql_of(sql, alias, True)} AS {name}" for name, sql in self.keys.items())
            return f"SELECT {key}, {delta} AS delta FROM {alias}"

        changes = {
            "INSERT": rows("new_rows", 1),
            "UPDATE": f"{rows('new_rows', 1)} UNION ALL {rows('old_rows', -1)}",
            "DELETE": rows("old_rows", -1),
        }[operation]
        names = ", ".join(self.keys)
        # A parent deleted with its rows (ON DELETE CASCADE) has no tallies left to change.
        return (
            f"CREATE FUNCTION {self.table}_{operation.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" INSERT INTO {self.table} ({names}, delta) SELECT {names}, sum(delta) FROM ({changes}) AS changed"
            f" WHERE EXISTS (SELECT 1 FROM {self.parent} WHERE {self.parent}.id = changed.{self.parent_column})"
            f" GROUP BY {names} HAVING sum(delta) <> 0; RETURN NULL; END $$"
        )

    def pg_trigger(self, operation: str) -> str:
        transition = {
            "INSERT": "NEW TABLE AS new_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
        }[operation]
        return (
            f"CREATE TRIGGER {self.table}_{operation.lower()} AFTER {operation} ON {self.source}"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_{operation.lower()}()"
        )

    def sqlite_trigger(self, operation: str) -> str:
        """SQLite (no statement-level triggers): one tally per changed row."""
        names = ", ".join(self.keys)

        def row(alias: str, delta: int) -> str:
            return "(" + ", ".join(sql_of(sql, alias, False) for sql in self.keys.values()) + f", {delta})"

        def live(alias: str) -> str:
            return f"EXISTS (SELECT 1 FROM {self.parent} WHERE id = {alias}.{self.parent_column})"

        if operation == "INSERT":
            when, values = f"AFTER INSERT ON {self.source} WHEN {live('NEW')}", row("NEW", 1)
        elif operation == "DELETE":
            when, values = f"AFTER DELETE ON {self.source} WHEN {live('OLD')}", row("OLD", -1)
        else:
            changed = " OR ".join(
                f"({sql_of(sql, 'OLD', False)}) IS NOT ({sql_of(sql, 'NEW', False)})"
                for sql in self.keys.values()
            )
            when = f"AFTER UPDATE ON {self.source} WHEN ({changed}) AND {live('NEW')}"
            values = f"{row('NEW', 1)}, {row('OLD', -1)}"
        return (
            f"CREATE TRIGGER {self.table}_{operation.lower()} {when} BEGIN"
            f" INSERT INTO {self.table} ({names}, delta) VALUES {values}; END"
        )


TALLIES = (
    Tally(
        "delivery_tallies",
        "deliveries",
        "campaigns",
        "campaign_id",
        {
            "campaign_id": "{r}.campaign_id",
            "status": "{r}.status",
            "reason": "coalesce({r}.reason, '')",
            # The hour a message left (NULL: not sent): rates count messages sent in a window.
            "sent_hour": "HOUR({r}.sent_at)",
        },
    ),
    Tally("list_tallies", "list_members", "lists", "list_id", {"list_id": "{r}.list_id"}),
    Tally(
        "consent_tallies",
        "consent_events",
        "purposes",
        "purpose_id",
        {
            "purpose_id": "{r}.purpose_id",
            "channel": "{r}.channel",
            "action": "{r}.action",
            "hour": "HOUR({r}.occurred_at)",
        },
    ),
)
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "delivery_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("sent_hour", sa.DateTime(), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_delivery_tallies_status")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_delivery_tallies_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_tallies")),
    )
    with op.batch_alter_table("delivery_tallies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_tallies_campaign_id"), ["campaign_id"], unique=False)
    op.create_table(
        "list_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"], ["lists.id"], name=op.f("fk_list_tallies_list_id_lists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_tallies")),
    )
    with op.batch_alter_table("list_tallies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_tallies_list_id"), ["list_id"], unique=False)
    op.create_table(
        "consent_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["purpose_id"],
            ["purposes.id"],
            name=op.f("fk_consent_tallies_purpose_id_purposes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_tallies")),
    )
    with op.batch_alter_table("consent_tallies", schema=None) as batch_op:
        batch_op.create_index("ix_consent_tallies_hour", ["hour"], unique=False)
    # The first, partial hour of a window is counted from the rows themselves.
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index("ix_consent_events_occurred_at", ["occurred_at"], unique=False)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for tally in TALLIES:
        # Backfill: the rows already there, one tally per key.
        names = ", ".join(tally.keys)
        key = ", ".join(sql_of(sql, tally.source, postgresql) for sql in tally.keys.values())
        op.execute(
            f"INSERT INTO {tally.table} ({names}, delta) SELECT {key}, count(*) FROM {tally.source} GROUP BY {key}"
        )
        for operation in OPERATIONS:
            if postgresql:
                op.execute(tally.pg_function(operation))
                op.execute(tally.pg_trigger(operation))
            else:
                op.execute(tally.sqlite_trigger(operation))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for tally in TALLIES:
        for operation in OPERATIONS:
            name = f"{tally.table}_{operation.lower()}"
            op.execute(f"DROP TRIGGER {name} ON {tally.source}" if postgresql else f"DROP TRIGGER {name}")
            if postgresql:
                op.execute(f"DROP FUNCTION {name}()")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_occurred_at")
    with op.batch_alter_table("consent_tallies", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_tallies_hour")
    op.drop_table("consent_tallies")
    with op.batch_alter_table("list_tallies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_tallies_list_id"))
    op.drop_table("list_tallies")
    with op.batch_alter_table("delivery_tallies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_tallies_campaign_id"))
    op.drop_table("delivery_tallies")
