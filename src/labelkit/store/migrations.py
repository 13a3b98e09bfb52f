"""Upgrade a store written by an older labelkit to the current table layout.

A new store is created at `SCHEMA_VERSION` directly from tables.py. An older one is upgraded by
running the steps from its version up, each in the same transaction as the version bump, so an
interrupted upgrade leaves the older (still readable) layout. Plain DDL that both SQLite and
PostgreSQL accept keeps this lighter than Alembic for a file that lives in a project folder.
"""

from __future__ import annotations

import sqlalchemy as sa

from labelkit.errors import StoreError
from labelkit.store import tables


def _v1_to_v2(conn: sa.Connection) -> None:
    """v2: resumable imports (the imports table; items remember the import that added them)."""
    tables.imports.create(conn)
    conn.exec_driver_sql("ALTER TABLE items ADD COLUMN import_id INTEGER REFERENCES imports(id)")
    conn.exec_driver_sql("CREATE INDEX ix_items_import_id ON items (import_id)")


def _v2_to_v3(conn: sa.Connection) -> None:
    """v3: Label Studio sync (links, and task, annotation and user mappings)."""
    for table in (tables.ls_links, tables.ls_tasks, tables.ls_annotations, tables.ls_users):
        table.create(conn)


def _v3_to_v4(conn: sa.Connection) -> None:
    """v4: teams (annotator access tokens, languages, levels, status), leases, item priority
    and serving order, reviews."""
    add = conn.exec_driver_sql
    add("ALTER TABLE annotators ADD COLUMN token_hash VARCHAR(64)")
    add("CREATE UNIQUE INDEX uq_annotators_token_hash ON annotators (token_hash)")
    add("ALTER TABLE annotators ADD COLUMN languages TEXT")
    add("ALTER TABLE annotators ADD COLUMN level INTEGER NOT NULL DEFAULT 0")
    add("ALTER TABLE annotators ADD COLUMN status VARCHAR(16) NOT NULL DEFAULT 'active'")
    add("ALTER TABLE annotators ADD COLUMN daily_goal INTEGER")
    add("ALTER TABLE items ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")
    add("ALTER TABLE items ADD COLUMN order_key BIGINT NOT NULL DEFAULT 0")
    add("DROP INDEX ix_items_answer_count_id")  # the queue index below leads with the same column
    add("CREATE INDEX ix_items_queue ON items (answer_count, order_key, id)")
    tables.leases.create(conn)
    tables.reviews.create(conn)


def _v4_to_v5(conn: sa.Connection) -> None:
    """v5: the quality path (gold kept out of the queue, exams, gold scores, answer flags,
    annotator history, escalation resolutions) and wellbeing (content warnings, opt-outs,
    the annotator's language)."""
    add = conn.exec_driver_sql
    add("ALTER TABLE items ADD COLUMN warnings TEXT")
    add(f"ALTER TABLE items ADD COLUMN gold BOOLEAN NOT NULL DEFAULT {_false(conn)}")
    add(f"UPDATE items SET gold = {_true(conn)} WHERE id IN (SELECT item_id FROM gold)")
    add("ALTER TABLE gold ADD COLUMN exam VARCHAR(64)")
    add("ALTER TABLE annotators ADD COLUMN opt_outs TEXT")
    add("ALTER TABLE annotators ADD COLUMN locale VARCHAR(16)")
    for table in (
        tables.annotator_events,
        tables.exam_attempts,
        tables.exam_answers,
        tables.gold_scores,
        tables.answer_flags,
        tables.resolutions,
    ):
        table.create(conn)


def _true(conn: sa.Connection) -> str:
    return "1" if conn.dialect.name == "sqlite" else "true"


def _false(conn: sa.Connection) -> str:
    return "0" if conn.dialect.name == "sqlite" else "false"


def _v5_to_v6(conn: sa.Connection) -> None:
    """v6: dynamic overlap (annotators' agreement with settled items' majorities)."""
    tables.majority_agreements.create(conn)


def _v6_to_v7(conn: sa.Connection) -> None:
    """v7: history reasons in the annotator's language (annotator_events.reason_message), the
    exposures to sensitive items (filled from the answers so far) and an index for an
    annotator's recent answers."""
    add = conn.exec_driver_sql
    # A store that came up from v4 made annotator_events from today's tables.py: has it already.
    have = {c["name"] for c in sa.inspect(conn).get_columns("annotator_events")}
    if "reason_message" not in have:
        add("ALTER TABLE annotator_events ADD COLUMN reason_message TEXT")
    add(
        "CREATE INDEX IF NOT EXISTS ix_annotations_annotator_created"
        " ON annotations (annotator_id, created_at)"
    )
    tables.exposures.create(conn)
    add(
        "INSERT INTO exposures (annotator_id, item_id, created_at)"
        " SELECT a.annotator_id, a.item_id, min(a.created_at) FROM annotations a"
        f" JOIN items i ON i.id = a.item_id WHERE i.sensitive = {_true(conn)}"
        " GROUP BY a.annotator_id, a.item_id"
    )


STEPS = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
    4: _v4_to_v5,
    5: _v5_to_v6,
    6: _v6_to_v7,
}  # from -> step


def stored_version(conn: sa.Connection) -> int | None:
    """The layout version of the store, or None for an empty database."""
    if not sa.inspect(conn).has_table("meta"):
        return None
    value = conn.execute(
        sa.select(tables.meta.c.value).where(tables.meta.c.key == "schema_version")
    ).scalar()
    return int(value) if value is not None else None


def set_version(conn: sa.Connection, version: int) -> None:
    conn.execute(tables.meta.delete().where(tables.meta.c.key == "schema_version"))
    conn.execute(tables.meta.insert().values(key="schema_version", value=version))


def upgrade(engine: sa.Engine) -> int:
    """Create or upgrade the store's tables; return the version found (0 when new)."""
    with engine.begin() as conn:
        found = stored_version(conn)
        if found is None:
            tables.metadata.create_all(conn)
            set_version(conn, tables.SCHEMA_VERSION)
            return 0
    if found > tables.SCHEMA_VERSION:
        raise StoreError(
            f"this store has layout version {found}, newer than this labelkit "
            f"({tables.SCHEMA_VERSION}): upgrade labelkit"
        )
    for version in range(found, tables.SCHEMA_VERSION):
        with engine.begin() as conn:
            if stored_version(conn) != version:  # another process upgraded meanwhile
                continue
            STEPS[version](conn)
            set_version(conn, version + 1)
    return found
