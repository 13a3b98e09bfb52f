"""Store.remaining: the cheap "items still needing answers" figure a labeling session shows after
every submit must always equal what the full count (Store.counts) says."""

import pandas as pd
import sqlalchemy as sa

from labelkit import Project
from labelkit.store.tables import imports


def frame(first: int, n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": [f"t{i}" for i in range(first, first + n)], "text": "hello"})


def full_count(project: Project) -> int:
    figures = project.store.counts(project.overlap)
    return figures["items"] - figures["complete"]


def test_remaining_follows_answers_imports_and_unfinished_imports(tmp_path, db_url):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url, overlap=2)
    try:
        project.import_items(frame(0, 6), id_column="id", progress=False)
        assert project.store.remaining(2) == full_count(project) == 6

        # Two annotators answer every item: each becomes complete at its second answer, and
        # the figure crosses half the items (the count switches to the other side).
        seen = []
        for item_key in [f"t{i}" for i in range(6)]:
            for annotator in ("ann", "bob"):
                project.submit(item_key, {"label": "billing"}, annotator=annotator)
                seen.append(project.store.remaining(2))
                assert seen[-1] == full_count(project)
        assert seen == [6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0]

        # A skip or a second version of the same answer completes nothing.
        project.submit("t0", {"label": "account"}, annotator="ann")
        assert project.store.remaining(2) == 0 == full_count(project)

        # New items count at once (the kept total is recounted).
        project.import_items(frame(6, 4), id_column="id", progress=False)
        assert project.store.remaining(2) == full_count(project) == 4
        project.submit("t6", status="skipped", annotator="ann")
        assert project.store.remaining(2) == full_count(project) == 4

        # Items of an unfinished (interrupted) import are not served, so they do not count.
        with project.store.writing() as conn:
            last = conn.execute(sa.select(sa.func.max(imports.c.id))).scalar_one()
            conn.execute(imports.update().where(imports.c.id == last).values(status="running"))
        assert project.store.remaining(2) == full_count(project) == 0
        with project.store.writing() as conn:
            conn.execute(imports.update().where(imports.c.id == last).values(status="done"))
        assert project.store.remaining(2) == full_count(project) == 4
    finally:
        project.close()


def test_session_progress_shows_remaining_after_each_submit(tmp_path):
    project = Project.create(tmp_path / "p", "classification")
    try:
        project.import_items(frame(0, 3), id_column="id", progress=False)
        widget = project.label("ann")
        widget.send = lambda content, buffers=None: None  # no browser: acks go nowhere
        remaining = [widget.progress["remaining"]]
        while widget.item is not None:
            message = {"action": "submit", "token": widget.item["token"]}
            message |= {"client_key": f"key-{len(remaining):08d}", "answer": {"label": "other"}}
            widget._on_action(widget, message, [])
            remaining.append(widget.progress["remaining"])
        assert remaining == [3, 2, 1, 0]
        assert widget.state == "done"
    finally:
        project.close()
