"""A store written by an older labelkit (layout v1) is upgraded when opened, data kept."""

import pytest
import sqlalchemy as sa

from labelkit import Project
from labelkit.errors import StoreError
from labelkit.store import Store, sqlite_url
from labelkit.store.tables import SCHEMA_VERSION

# The v1 layout as labelkit 0.0 wrote it (before resumable imports). Frozen: never edit.
V1_DDL = [
    "CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE items (id INTEGER PRIMARY KEY, key VARCHAR(200) NOT NULL UNIQUE,
        data TEXT NOT NULL, content_hash VARCHAR(32) NOT NULL, metadata TEXT, suggestions TEXT,
        language VARCHAR(35), level INTEGER DEFAULT 0 NOT NULL,
        sensitive BOOLEAN DEFAULT false NOT NULL, answer_count INTEGER DEFAULT 0 NOT NULL,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)""",
    "CREATE INDEX ix_items_answer_count_id ON items (answer_count, id)",
    """CREATE TABLE gold (item_id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        answer TEXT NOT NULL, explanation TEXT DEFAULT '' NOT NULL)""",
    """CREATE TABLE annotators (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE,
        role VARCHAR(16) DEFAULT 'annotator' NOT NULL,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)""",
    """CREATE TABLE annotations (id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        annotator_id INTEGER NOT NULL REFERENCES annotators(id), version INTEGER NOT NULL,
        status VARCHAR(16) NOT NULL, answer TEXT, comment TEXT, duration_ms INTEGER,
        client_key VARCHAR(64) NOT NULL UNIQUE, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        CONSTRAINT uq_annotation_version UNIQUE (item_id, annotator_id, version))""",
    "CREATE INDEX ix_annotations_annotator_item ON annotations (annotator_id, item_id)",
    "INSERT INTO meta VALUES ('schema_version', '1')",
    """INSERT INTO items (key, data, content_hash) VALUES
        ('old-1', '{"text":"an item from v1"}', 'h1'), ('old-2', '{"text":"another"}', 'h2')""",
    "INSERT INTO annotators (name) VALUES ('ana')",
    """INSERT INTO annotations (item_id, annotator_id, version, status, answer, client_key)
        VALUES (1, 1, 1, 'submitted', '{"label":"billing"}', 'v1-key')""",
    "UPDATE items SET answer_count = 1 WHERE id = 1",
]


def write_v1_store(url: str) -> None:
    engine = sa.create_engine(url)
    postgres = url.startswith("postgresql")
    with engine.begin() as conn:
        for statement in V1_DDL:
            if postgres:
                statement = statement.replace("INTEGER PRIMARY KEY", "SERIAL PRIMARY KEY")
            conn.exec_driver_sql(statement)
    engine.dispose()


def test_v1_store_is_upgraded_on_open(tmp_path, db_url):
    folder = tmp_path / "p"
    Project.create(folder, "classification", db_url=db_url).close()
    url = db_url or sqlite_url(folder)
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # replace the fresh tables with a v1 store
        fresh = sa.MetaData()
        fresh.reflect(conn)
        fresh.drop_all(conn)
    engine.dispose()
    write_v1_store(url)

    with Project.open(folder, db_url=db_url) as project:
        assert project.store.upgraded_from == 1
        assert project.store.get_meta("schema_version") == SCHEMA_VERSION
        # old answers are all there, and the new features work on the upgraded store
        assert list(project.annotations()["answer"]) == [{"label": "billing"}]
        assert project.next_item("ana").key == "old-2"
        new_items = tmp_path / "new.jsonl"
        new_items.write_text('{"id": "new-1", "text": "after the upgrade"}\n')
        report = project.import_items(new_items, id_column="id", progress=False)
        assert report.added == 1
        assert project.progress()["items"] == 3
        # v3: the Label Studio mapping tables exist
        assert {"ls_links", "ls_tasks", "ls_annotations", "ls_users"} <= set(
            sa.inspect(project.store.engine).get_table_names()
        )
        # v4: annotators have access-token, language, level and status columns; items a priority
        inspector = sa.inspect(project.store.engine)
        columns = {c["name"] for c in inspector.get_columns("annotators")}
        assert {"token_hash", "languages", "level", "status", "daily_goal"} <= columns
        assert "priority" in {c["name"] for c in inspector.get_columns("items")}
        assert {"leases", "reviews"} <= set(inspector.get_table_names())
        # v5: the quality path and wellbeing
        assert {"warnings", "gold"} <= {c["name"] for c in inspector.get_columns("items")}
        assert {"opt_outs", "locale"} <= columns
        assert "exam" in {c["name"] for c in inspector.get_columns("gold")}
        assert {
            "annotator_events",
            "exam_attempts",
            "exam_answers",
            "gold_scores",
            "answer_flags",
            "resolutions",
        } <= set(inspector.get_table_names())
    # opening again does nothing more
    with Project.open(folder, db_url=db_url) as project:
        assert project.store.upgraded_from == SCHEMA_VERSION


def test_store_from_a_newer_labelkit_is_refused(tmp_path):
    url = sqlite_url(tmp_path)
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this labelkit"):
        Store(url)


def test_v4_store_gets_the_quality_path_on_open(tmp_path, db_url):
    """v5: items.gold set from the gold table (gold leaves the queue), gold.exam, the history,
    exam, gold score, flag and resolution tables; old answers kept."""
    import pandas as pd

    folder = tmp_path / "p"
    with Project.create(folder, "classification", db_url=db_url) as project:
        rows = [{"id": f"i{i}", "text": f"item {i}", "gold": None} for i in range(3)]
        rows[1]["gold"] = {"label": "billing"}
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        project.submit("i0", {"label": "other"}, annotator="ana")
    url = db_url or sqlite_url(folder)
    engine = sa.create_engine(url)
    v4_tables = {"meta", "imports", "items", "gold", "annotators", "leases", "annotations",
                 "reviews", "ls_links", "ls_tasks", "ls_annotations", "ls_users"}  # fmt: skip
    newer = set(sa.inspect(engine).get_table_names()) - v4_tables
    with engine.begin() as conn:  # back to the v4 layout
        for table in sorted(newer, key=lambda t: t != "exam_answers"):  # refers to attempts
            conn.exec_driver_sql(f"DROP TABLE {table}")
        for table, column in (("items", "warnings"), ("items", "gold"), ("gold", "exam"),
                              ("annotators", "opt_outs"), ("annotators", "locale")):  # fmt: skip
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.exec_driver_sql("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    engine.dispose()

    with Project.open(folder, db_url=db_url) as project:
        assert project.store.upgraded_from == 4
        assert list(project.annotations()["answer"]) == [{"label": "other"}]
        assert project.progress()["items"] == 2  # the gold item is out of the queue again
        assert project.next_item("ana").key == "i2"
        tables = set(sa.inspect(project.store.engine).get_table_names())
        assert {"annotator_events", "exam_attempts", "gold_scores", "answer_flags"} <= tables
        # the quality path works on the upgraded store
        project.configure_quality(honeypot_rate=0.9, exams={"basics": {"level": 0}})
        project.add_gold("i2", {"label": "account"}, exam="basics")
        project.annotators.suspend("ana", reason="after the upgrade")
        assert project.annotator_history("ana")[0]["reason"] == "after the upgrade"
        assert project.store.gold_of(project.item("i2").id)["exam"] == "basics"


def test_v6_store_gets_exposures_and_history_in_any_language_on_open(tmp_path, db_url):
    """v7: the exposures to sensitive items are filled from the answers given so far (at the
    first action on each item), history reasons can be Messages, the recent-answers index."""
    import pandas as pd

    from labelkit.gold import history
    from labelkit.i18n import Message
    from labelkit.wellbeing import configure_wellbeing, exposure

    folder = tmp_path / "p"
    with Project.create(folder, "classification", db_url=db_url) as project:
        rows = [{"id": f"i{i}", "text": f"item {i}", "sensitive": i < 2} for i in range(3)]
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        for key in ("i0", "i1", "i2"):
            project.submit(key, {"label": "other"}, annotator="ana")
        project.submit("i0", {"label": "billing"}, annotator="ana")  # an edit: still one
    url = db_url or sqlite_url(folder)
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # back to the v6 layout
        conn.exec_driver_sql("DROP TABLE exposures")
        conn.exec_driver_sql("DROP INDEX ix_annotations_annotator_created")
        conn.exec_driver_sql("ALTER TABLE annotator_events DROP COLUMN reason_message")
        conn.exec_driver_sql("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    engine.dispose()

    with Project.open(folder, db_url=db_url) as project:
        assert project.store.upgraded_from == 6
        seen = {e.annotator: e for e in exposure(project)}["ana"]
        assert (seen.sensitive_hour, seen.sensitive_day, seen.sensitive_week) == (2, 2, 2)
        configure_wellbeing(project, sensitive_per_day=2)
        assert {e.annotator: e for e in exposure(project)}["ana"].limited == "day"
        with project.store.writing() as conn:
            reason = Message.of("history.reason.lead_changed")
            history.record(conn, project.store.annotator_id("ana"), "warning", reason)
        assert project.annotator_history("ana")[0]["reason"] == "changed by the project lead"
