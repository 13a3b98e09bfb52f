"""Two-way sync against a real Label Studio server (started once per session, own venv)."""

from __future__ import annotations

import http.server
import json
import logging
import os
import random
import socketserver
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelkit import Project
from labelkit.cli import cli
from labelkit.labelstudio import ConfigError, LabelStudioError, link_project, sync_project
from labelkit.labelstudio import sync as sync_module
from labelkit.store.tables import ls_annotations, ls_tasks
from labelkit.templates import TEMPLATES
from tests.labelstudio_server import LabelStudioServer, LabelStudioUnavailable, free_port
from tests.samples import sample_answer, sample_item

pytestmark = pytest.mark.slow


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def labelstudio(tmp_path_factory):
    """A Label Studio server for the session (stopped and deleted at the end)."""
    try:
        server = LabelStudioServer(root=tmp_path_factory.mktemp("label-studio")).start()
    except LabelStudioUnavailable as exc:
        if _ci():
            pytest.fail(f"Label Studio could not start: {exc}", pytrace=False)
        pytest.skip(f"Label Studio could not start: {exc}")
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def ls(labelstudio):
    """The SDK, as a Label Studio user would script it."""
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=labelstudio.url, api_key=labelstudio.token)


def make_project(path: Path, kind: str, n_items: int, answered: int, seed: int = 0, db_url=None):
    """A project with items and answers by two annotators (one named by email)."""
    project = Project.create(path, kind, db_url=db_url)
    rng = random.Random(seed)
    rows = [sample_item(project.schema, rng, n) | {"id": f"item-{n}"} for n in range(n_items)]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    for n in range(answered):
        item = project.item(f"item-{n}")
        for annotator in ("ana@example.com", "bob") if n % 3 == 0 else ("bob",):
            answer = sample_answer(project.schema, item.data, rng)
            project.submit(item, answer, annotator=annotator, duration_ms=1500 + n)
    return project


def answers_by_content(project: Project) -> dict:
    """Current answers keyed by (item content, annotator): comparable across projects."""
    found = {}
    for row in project.annotations(current_only=True).itertuples():
        content = json.dumps(project.item(row.item_id).data, sort_keys=True)
        found[(content, row.annotator)] = (row.status, row.answer)
    return found


def ls_counts(ls, project_id: int) -> tuple[int, int, int]:
    """(tasks, annotations, distinct labelkit keys) in a Label Studio project."""
    raw = b"".join(
        ls.projects.exports.download_sync(
            id=project_id, export_type="JSON", download_all_tasks=True
        )
    )
    tasks = json.loads(raw)
    keys = {(t.get("meta") or {}).get("labelkit_key") for t in tasks}
    return len(tasks), sum(len(t["annotations"]) for t in tasks), len(keys - {None})


def store_counts(project: Project) -> tuple[int, int, int, int]:
    with project.store.reading() as conn:
        return (
            project.progress()["items"],
            project.progress()["annotations"],
            conn.execute(sa.select(sa.func.count()).select_from(ls_tasks)).scalar_one(),
            conn.execute(sa.select(sa.func.count()).select_from(ls_annotations)).scalar_one(),
        )


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_every_template_round_trips_through_label_studio(kind, tmp_path, labelstudio, ls):
    project = make_project(tmp_path / "out", kind, n_items=6, answered=4, seed=len(kind))
    report = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert report.created_project and report.tasks_pushed == 6
    assert report.annotations_pushed == project.progress()["annotations"] == 6
    assert ls_counts(ls, report.project_id) == (6, 6, 6)
    # authors are Label Studio users, matched by email
    exported = json.loads(
        b"".join(ls.projects.exports.download_sync(id=report.project_id, export_type="JSON"))
    )
    emails = {u.id: u.email for u in ls.users.list()}
    authors = {emails[a["completed_by"]] for t in exported for a in t["annotations"]}
    assert authors == {"ana@example.com", sync_module.user_email("bob", {})}

    linked, link_report = link_project(
        tmp_path / "back", labelstudio.url, labelstudio.token, report.project_id, progress=False
    )
    try:
        assert link_report.items_pulled == 6 and link_report.annotations_pulled == 6
        assert link_report.invalid == []
        assert linked.schema.questions == project.schema.questions
        assert answers_by_content(linked) == answers_by_content(project)
        assert set(linked.annotations()["annotator"]) == {"ana@example.com", "bob"}
        assert sorted(linked.annotations()["duration_ms"]) == sorted(
            project.annotations()["duration_ms"]
        )
    finally:
        linked.close()
        project.close()


def test_answers_made_in_label_studio_come_back(tmp_path, labelstudio, ls):
    project = make_project(tmp_path / "p", "translation", n_items=3, answered=0)
    text = "Le café 😀 est froid"
    project.import_items(
        pd.DataFrame([{"id": "emoji", "source": "The coffee is cold", "translation": text}]),
        id_column="id",
        progress=False,
    )
    report = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    with project.store.reading() as conn:
        task_id = conn.execute(
            sa.select(ls_tasks.c.task_id).where(ls_tasks.c.item_id == project.item("emoji").id)
        ).scalar_one()
    carol = ls.users.create(email="carol@example.com", username="carol@example.com")
    # "froid" starts at character 14, but at UTF-16 offset 15 (the emoji counts twice there)
    made = ls.annotations.create(
        id=task_id,
        completed_by=carol.id,
        lead_time=4.25,
        result=[
            {"id": "r1", "from_name": "errors", "to_name": "translation", "type": "labels",
             "value": {"start": 15, "end": 20, "text": "froid", "labels": ["accuracy"]}},
            {"id": "r1", "from_name": "errors__severity", "to_name": "translation",
             "type": "choices", "value": {"start": 15, "end": 20, "choices": ["major"]}},
            {"from_name": "score", "to_name": "source", "type": "number",
             "value": {"number": 35}},
        ],
    )  # fmt: skip
    ls.annotations.create(  # out of the 0-100 scale: Label Studio takes it, labelkit refuses
        id=task_id,
        result=[score(150)],
    )

    report = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert report.annotations_pulled == 1
    assert len(report.invalid) == 1 and "rating 150 is outside 0–100" in report.invalid[0]
    assert "admin@example.com" in report.invalid[0] and f"task {task_id}" in report.invalid[0]
    rows = project.annotations()
    carols = rows[rows["annotator"] == "carol@example.com"]
    span = {"start": 14, "end": 19, "label": "accuracy", "severity": "major"}
    assert list(carols["answer"]) == [{"errors": [span], "score": 35}]
    assert list(carols["duration_ms"]) == [4250]
    assert text[14:19] == "froid"

    # An edit in Label Studio is a new version in labelkit; the first one stays.
    ls.annotations.update(id=made.id, result=[score(60)])
    report = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert report.annotations_pulled == 1
    rows = project.annotations()
    carols = rows[rows["annotator"] == "carol@example.com"]
    assert list(carols["version"]) == [1, 2]
    assert carols.iloc[-1]["answer"] == {"errors": [], "score": 60}
    assert project.progress()["complete"] == 1  # one item answered, counted once

    again = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert not again.changed
    project.close()


def test_pulled_answers_are_history_and_settle_a_dynamic_overlap(tmp_path, labelstudio, ls):
    """Answers made in Label Studio come back even when their author is suspended here (they
    are past work), and they settle items as answers given in labelkit do."""
    project = make_project(tmp_path / "p", "classification", n_items=2, answered=0)
    project.configure(overlap={"min": 2, "max": 3})
    project.annotators.add("finn@example.com")
    project.annotators.suspend("finn@example.com", reason="left the team")
    sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    with project.store.reading() as conn:
        task_id = conn.execute(
            sa.select(ls_tasks.c.task_id).where(ls_tasks.c.item_id == project.item("item-0").id)
        ).scalar_one()
    billing = [{"from_name": "label", "to_name": "text", "type": "choices",
                "value": {"choices": ["billing"]}}]  # fmt: skip
    for email in ("erin@example.com", "finn@example.com"):
        user = ls.users.create(email=email, username=email)
        ls.annotations.create(id=task_id, completed_by=user.id, result=billing)

    report = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert report.annotations_pulled == 2 and report.invalid == []
    rows = project.annotations()
    assert sorted(rows["annotator"]) == ["erin@example.com", "finn@example.com"]
    assert list(rows["answer"]) == [{"label": "billing"}] * 2
    assert project.annotators.get("finn@example.com").status == "suspended"
    # Two agreeing newcomers reach the 0.7 confidence (posterior 0.8): settled at 2 of 3.
    assert project.progress()["complete"] == 1 and project.remaining() == 1
    assert project.next_item("gus").key == "item-1"
    project.close()


def test_sync_twice_changes_nothing_and_edits_update(tmp_path, labelstudio, ls, db_url):
    project = make_project(tmp_path / "p", "classification", n_items=8, answered=5, db_url=db_url)
    first = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    ls_before, store_before = ls_counts(ls, first.project_id), store_counts(project)
    assert ls_before == (8, 7, 8)

    second = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert not second.changed, second
    assert ls_counts(ls, first.project_id) == ls_before
    assert store_counts(project) == store_before

    # A labelkit edit updates the Label Studio annotation in place (no second annotation);
    # a new item and a new answer go out as one new task and one new annotation.
    item = project.item("item-1")
    old = project.store.latest(item.id, project.store.annotator_id("bob"))[1]["label"]
    new_label = next(label for label in project.schema.questions[0].labels if label != old)
    project.submit(item, {"label": new_label}, annotator="bob")
    project.import_items(
        pd.DataFrame([{"id": "late", "text": "added later"}]), id_column="id", progress=False
    )
    project.submit("item-7", {"label": new_label}, annotator="dan")
    third = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert (third.annotations_updated, third.annotations_pushed, third.tasks_pushed) == (1, 1, 1)
    assert ls_counts(ls, first.project_id) == (9, 8, 9)
    task = next(
        t
        for t in ls.tasks.list(project=first.project_id, fields="all")
        if t.meta.get("labelkit_key") == "item-1"
    )
    assert [a["result"][0]["value"]["choices"] for a in task.annotations] == [[new_label]]

    fourth = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert not fourth.changed, fourth
    assert ls_counts(ls, first.project_id) == (9, 8, 9)
    project.close()


def test_answers_as_predictions(tmp_path, labelstudio, ls):
    project = make_project(tmp_path / "p", "moderation", n_items=4, answered=3)
    report = sync_project(
        project, labelstudio.url, labelstudio.token, as_predictions=True, progress=False
    )
    assert report.predictions_pushed == 4 and report.annotations_pushed == 0
    answer = sample_answer(project.schema, project.item("item-3").data, random.Random(1))
    project.submit("item-3", answer, annotator="eve")
    report = sync_project(
        project, labelstudio.url, labelstudio.token, as_predictions=True, progress=False
    )
    assert report.predictions_pushed == 1
    again = sync_project(
        project, labelstudio.url, labelstudio.token, as_predictions=True, progress=False
    )
    assert not again.changed
    predictions = ls.predictions.list(project=report.project_id)
    assert len(predictions) == 5
    assert ls_counts(ls, report.project_id)[1] == 0  # no annotations
    project.close()


def test_linking_a_config_without_equivalent_names_the_tags(tmp_path, labelstudio, ls):
    made = ls.projects.create(
        title="boxes project",
        label_config=(
            '<View><Image name="img" value="$image"/>'
            '<RectangleLabels name="box" toName="img"><Label value="cat"/></RectangleLabels>'
            '<Choices name="ok" toName="img"><Choice value="yes"/></Choices></View>'
        ),
    )
    with pytest.raises(ConfigError, match="<RectangleLabels> 'box'"):
        link_project(tmp_path / "p", labelstudio.url, labelstudio.token, made.id, progress=False)
    assert not (tmp_path / "p").exists()


# ---------------------------------------------------------------------------- faults


def score(n: int) -> dict:
    return {"from_name": "score", "to_name": "source", "type": "number", "value": {"number": n}}


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise TimeoutError("condition not met")


def test_server_killed_mid_push_then_resumed(tmp_path, labelstudio, ls):
    """Kill the server while a push is under way (after some batches are in), restart it,
    sync again: every item is exactly one task and every answer one annotation."""
    project = make_project(tmp_path / "p", "image-validation", n_items=400, answered=150)
    n_answers = project.progress()["annotations"]

    def tasks_mapped() -> int:
        with project.store.reading() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(ls_tasks)).scalar_one()

    def kill_after_two_batches():
        wait_for(lambda: tasks_mapped() >= 100)
        labelstudio.kill()

    killer = threading.Thread(target=kill_after_two_batches)
    killer.start()
    try:
        with pytest.raises(LabelStudioError) as caught:
            sync_project(project, labelstudio.url, labelstudio.token, batch_size=50, progress=False)
    finally:
        killer.join()
        labelstudio.start()
    message = str(caught.value)
    assert "run the sync again to resume" in message and labelstudio.token not in message
    mapped = tasks_mapped()
    assert 100 <= mapped < 400 and mapped % 50 == 0  # whole batches only

    report = sync_project(
        project, labelstudio.url, labelstudio.token, batch_size=50, progress=False
    )
    assert report.tasks_pushed + report.recovered_tasks == 400 - mapped
    assert ls_counts(ls, report.project_id) == (400, n_answers, 400)
    assert store_counts(project)[:3] == (400, n_answers, 400)
    again = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert not again.changed
    assert ls_counts(ls, report.project_id) == (400, n_answers, 400)
    project.close()


def test_import_committed_but_answer_lost_is_recovered(tmp_path, labelstudio, ls, monkeypatch):
    """The worst moment: Label Studio committed an import, the server died before answering.
    The next run maps those tasks (by item key) instead of importing them twice."""
    import httpx

    project = make_project(tmp_path / "p", "pairwise-preference", n_items=30, answered=12)
    n_answers = project.progress()["annotations"]
    client_class = sync_module.Client
    calls = {"n": 0}
    original = client_class.call

    def call(self, what, fn, *args, **kwargs):
        result = original(self, what, fn, *args, **kwargs)
        if what.startswith("importing tasks"):
            calls["n"] += 1
            if calls["n"] == 2:
                labelstudio.kill()
                raise self.error(what, httpx.RemoteProtocolError("Server disconnected"))
        return result

    monkeypatch.setattr(client_class, "call", call)
    try:
        with pytest.raises(LabelStudioError, match="cannot reach Label Studio"):
            sync_project(project, labelstudio.url, labelstudio.token, batch_size=10, progress=False)
    finally:
        labelstudio.start()
    monkeypatch.setattr(client_class, "call", original)
    assert store_counts(project)[2] == 10  # the second batch's mapping was never written

    report = sync_project(
        project, labelstudio.url, labelstudio.token, batch_size=10, progress=False
    )
    assert report.recovered_tasks == 10 and report.tasks_pushed == 10
    assert ls_counts(ls, report.project_id) == (30, n_answers, 30)
    again = sync_project(project, labelstudio.url, labelstudio.token, progress=False)
    assert not again.changed
    assert ls_counts(ls, report.project_id) == (30, n_answers, 30)
    assert store_counts(project)[:3] == (30, n_answers, 30)
    project.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def _answer(self):
        if self.mode == "slow":
            time.sleep(3)
        body = b'{"detail": "database is locked"}'
        self.send_response(500 if self.mode == "500" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_server():
    servers = []

    def start(mode: str) -> str:
        handler = type("Handler", (_Handler,), {"mode": mode})
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_faults_are_clear_errors_and_write_nothing(tmp_path, fake_server, labelstudio):
    project = make_project(tmp_path / "p", "classification", n_items=3, answered=2)
    before = store_counts(project)
    down = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(LabelStudioError, match=r"cannot reach Label Studio .* Is it running\?"):
        sync_project(project, down, "t0ken", progress=False)
    with pytest.raises(LabelStudioError, match=r"failed on creating the project \(500\)"):
        sync_project(project, fake_server("500"), "t0ken", progress=False)
    with pytest.raises(LabelStudioError, match="did not answer within 1 s"):
        sync_project(project, fake_server("slow"), "t0ken", timeout=1, progress=False)
    with pytest.raises(LabelStudioError, match=r"refused the token \(401\)"):
        sync_project(project, labelstudio.url, "wrong-token", progress=False)
    with pytest.raises(LabelStudioError, match="not a Label Studio URL"):
        sync_project(project, "localhost:8080", "t0ken", progress=False)
    assert store_counts(project) == before
    with project.store.reading() as conn:
        assert conn.execute(sa.text("select count(*) from ls_links")).scalar_one() == 0
    project.close()


# ---------------------------------------------------------------------------- token, CLI


def test_token_is_never_written_to_the_project_or_logs(tmp_path, labelstudio, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    project = make_project(tmp_path / "p", "classification", n_items=3, answered=2)
    project.sync_labelstudio(labelstudio.url, labelstudio.token, progress=True)
    with pytest.raises(LabelStudioError) as caught:
        project.sync_labelstudio(labelstudio.url + "/nothing-here", labelstudio.token)
    project.close()
    token = labelstudio.token.encode()
    for path in (tmp_path / "p").rglob("*"):
        if path.is_file():
            assert token not in path.read_bytes(), path
    out, err = capfd.readouterr()
    assert labelstudio.token not in caplog.text + out + err + str(caught.value)


def test_cli_sync_and_link(tmp_path, labelstudio, ls, monkeypatch):
    project = make_project(tmp_path / "p", "classification", n_items=4, answered=2)
    project.close()
    runner = CliRunner()
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    args = ["sync", str(tmp_path / "p"), "--url", labelstudio.url, "--quiet"]
    missing = runner.invoke(cli, args)
    assert missing.exit_code == 2 and "LABEL_STUDIO_API_KEY" in missing.output

    monkeypatch.setenv("LABEL_STUDIO_API_KEY", labelstudio.token)
    result = runner.invoke(cli, [*args, "--user", "bob=bob@example.com"])
    assert result.exit_code == 0, result.output
    assert "pushed: 4 tasks, 3 annotations" in result.output
    assert labelstudio.token not in result.output
    assert "bob@example.com" in {u.email for u in ls.users.list()}
    project_id = int(result.output.split("Label Studio project ")[1].split()[0])

    again = runner.invoke(cli, args)
    assert "pushed: 0 tasks, 0 annotations" in again.output

    linked = runner.invoke(
        cli,
        [
            "link",
            str(tmp_path / "q"),
            "--url",
            labelstudio.url,
            "--project",
            str(project_id),
            "--quiet",
        ],
    )
    assert linked.exit_code == 0, linked.output
    assert "pulled: 4 new items, 3 annotations" in linked.output
    with Project.open(tmp_path / "q") as copy:
        assert set(copy.annotations()["annotator"]) == {"ana@example.com", "bob@example.com"}

    make_project(tmp_path / "r", "classification", n_items=1, answered=0).close()
    down = runner.invoke(
        cli, ["sync", str(tmp_path / "r"), "--url", f"http://127.0.0.1:{free_port()}"]
    )
    assert down.exit_code == 2 and "error: cannot reach Label Studio" in down.output
