"""The label store on SQLite and PostgreSQL: append-only answers, idempotent submits, durability."""

import subprocess
import sys
import textwrap
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

from labelkit import AnswerError, Project
from labelkit.errors import StoreError
from labelkit.store import Store, sqlite_url

TEXTS = [f"support message number {i}" for i in range(6)]


@pytest.fixture
def project(tmp_path, db_url):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url)
    project.import_items(
        pd.DataFrame({"id": [f"m{i}" for i in range(6)], "text": TEXTS}),
        id_column="id",
        progress=False,
    )
    yield project
    project.close()


def test_submit_is_committed_and_visible_to_another_connection(project):
    item = project.next_item("ana")
    project.submit(item, {"label": "billing"}, annotator="ana")
    other = Store(project.store.url)  # a separate engine: another process would see the same
    try:
        rows = list(other.annotation_rows())
    finally:
        other.close()
    assert [(r["item"], r["annotator"], r["answer"]) for r in rows] == [
        ("m0", "ana", {"label": "billing"})
    ]


def test_retry_with_same_client_key_writes_once(project):
    first = project.submit("m0", {"label": "billing"}, annotator="ana", client_key="k-1")
    again = project.submit("m0", {"label": "billing"}, annotator="ana", client_key="k-1")
    assert first.created and not again.created and again.id == first.id
    assert len(project.annotations()) == 1
    assert project.progress()["complete"] == 1


def test_client_key_cannot_be_reused_for_another_item(project):
    project.submit("m0", {"label": "billing"}, annotator="ana", client_key="k-1")
    with pytest.raises(StoreError, match="another item"):
        project.submit("m1", {"label": "billing"}, annotator="ana", client_key="k-1")


def test_edit_adds_a_version_and_keeps_the_old_one(project):
    project.submit("m0", {"label": "billing"}, annotator="ana")
    project.submit("m0", {"label": "account"}, annotator="ana")
    history = project.annotations()
    assert list(history["version"]) == [1, 2]
    assert [a["label"] for a in history["answer"]] == ["billing", "account"]
    assert list(history["current"]) == [False, True]
    current = project.annotations(current_only=True)
    assert list(current["answer"]) == [{"label": "account"}]
    # an edit does not count the item twice
    assert project.progress()["complete"] == 1


def test_invalid_answer_is_refused_and_nothing_written(project):
    with pytest.raises(AnswerError, match="'refund' is not one of the labels"):
        project.submit("m0", {"label": "refund"}, annotator="ana")
    assert project.annotations().empty


def test_next_item_skips_what_the_annotator_did(project):
    seen = []
    while (item := project.next_item("ana")) is not None:
        seen.append(item.key)
        if item.key == "m2":
            project.submit(item, annotator="ana", status="skipped")
        elif item.key == "m3":
            project.submit(item, annotator="ana", status="escalated", comment="not English")
        else:
            project.submit(item, {"label": "other"}, annotator="ana")
    assert seen == [f"m{i}" for i in range(6)]
    progress = project.progress()
    assert progress["submitted"] == 4 and progress["skipped"] == 1 and progress["escalated"] == 1
    # skipped and escalated items still need an answer from someone else
    assert progress["complete"] == 4 and progress["not_started"] == 2
    assert project.next_item("bob").key == "m2"
    escalated = project.annotations().query("status == 'escalated'")
    assert escalated["comment"].tolist() == ["not English"]


def test_skip_carries_no_answer(project):
    with pytest.raises(StoreError, match="carries no answer"):
        project.submit("m0", {"label": "billing"}, annotator="ana", status="skipped")


def test_overlap_finishes_started_items_first(tmp_path, db_url):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url, overlap=2)
    project.import_items(pd.DataFrame({"text": TEXTS}), progress=False)
    first = project.next_item("ana")
    project.submit(first, {"label": "billing"}, annotator="ana")
    # bob gets the started item before any new one; ana never gets it again
    assert project.next_item("bob").id == first.id
    assert project.next_item("ana").id != first.id
    project.submit(first, {"label": "billing"}, annotator="bob")
    assert project.progress()["complete"] == 1
    assert project.next_item("cy").id != first.id
    project.close()


def test_concurrent_retries_of_one_submit_write_once(project):
    errors = []

    def submit():
        try:
            project.submit("m0", {"label": "billing"}, annotator="ana", client_key="same")
        except Exception as exc:  # collected: the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(project.annotations()) == 1
    assert project.progress()["complete"] == 1


def test_annotations_survive_a_killed_process(tmp_path, db_url):
    """Submit, then die at once (no clean shutdown): the answer is still there."""
    project = Project.create(tmp_path / "p", "classification", db_url=db_url)
    project.import_items(
        pd.DataFrame({"id": ["a"], "text": ["hello"]}), id_column="id", progress=False
    )
    project.close()
    script = textwrap.dedent(
        f"""
        import os, signal
        from labelkit import Project
        p = Project.open({str(tmp_path / "p")!r}, db_url={db_url!r})
        p.submit("a", {{"label": "feedback"}}, annotator="ana")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    with Project.open(tmp_path / "p", db_url=db_url) as reopened:
        assert list(reopened.annotations()["answer"]) == [{"label": "feedback"}]


def test_sqlite_store_runs_in_wal_mode(tmp_path):
    store = Store(sqlite_url(tmp_path))
    with store.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "labelkit.db").exists()
    store.close()


def test_unknown_item_and_annotator(project):
    with pytest.raises(StoreError, match="unknown item 'nope'"):
        project.submit("nope", {"label": "billing"}, annotator="ana")
    with pytest.raises(StoreError, match="unknown annotator"):
        project.store.annotator_id("ghost", create=False)


def test_store_url_that_cannot_be_opened(tmp_path):
    with pytest.raises(StoreError, match="cannot open the label store"):
        Store(f"sqlite:///{tmp_path}/missing-folder/x.db")


def test_postgres_unreachable_gives_clear_error():
    url = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"
    with pytest.raises(StoreError, match="cannot open the label store"):
        Store(url)


def test_annotations_table_is_append_only_by_construction(project):
    """No code path updates or deletes an annotation: edits and retries only insert."""
    project.submit("m0", {"label": "billing"}, annotator="ana", client_key="x")
    project.submit("m0", {"label": "account"}, annotator="ana")
    project.submit("m0", {"label": "billing"}, annotator="ana", client_key="x")
    with project.store.reading() as conn:
        rows = conn.execute(
            sa.text("SELECT id, version, answer FROM annotations ORDER BY id")
        ).all()
    assert [(r.version, r.answer) for r in rows] == [
        (1, '{"label":"billing"}'),
        (2, '{"label":"account"}'),
    ]
