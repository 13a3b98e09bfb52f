"""Annotator accounts, access links and who labels in the served app (on SQLite and PostgreSQL).

The app's identity comes from the kernel's environment as Voila sets it (QUERY_STRING holds the
page's query string); everything the browser sends goes through the widget's real message path.
"""

from __future__ import annotations

import getpass
import hashlib
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelkit import Project
from labelkit.cli import cli
from labelkit.errors import LabelkitError
from labelkit.serve import check_serving
from labelkit.store.tables import annotations, annotators
from labelkit.team.accounts import AccessDenied, AccountError
from labelkit.ui.app import annotator_app, resolve_annotator
from labelkit.ui.widget import LabelWidget

TOKEN_RE = r"[A-Za-z0-9_-]{43}"


@pytest.fixture
def project(tmp_path, db_url):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url)
    rows = [{"id": f"t{i}", "text": f"message {i}"} for i in range(6)]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    yield project
    project.close()


def served(token: str | None = None, **extra) -> dict:
    """The environment a kernel started by `labelkit serve` for a page load sees."""
    query = "" if token is None else f"token={token}"
    env = {"SERVER_SOFTWARE": "voila/0.5.13", "QUERY_STRING": query}
    return env | {"LABELKIT_SERVE_HOST": "127.0.0.1"} | extra


def annotator_rows(project) -> list[dict]:
    with project.store.reading() as conn:
        rows = conn.execute(sa.select(annotators).order_by(annotators.c.id)).mappings().all()
    return [dict(row) for row in rows]


def answers_by(project) -> list[tuple[str, str]]:
    table = project.annotations()
    return sorted(zip(table["annotator"], table["item"], strict=True))


class Browser:
    """Sends what label.js would, through ipywidgets' real message handler."""

    def __init__(self, widget: LabelWidget):
        self.widget, self.acks = widget, []
        widget.send = lambda content, buffers=None: self.acks.append(content)

    def _message(self, data: dict) -> None:
        self.widget._handle_msg({"content": {"data": data}, "buffers": []})

    def update_state(self, state: dict) -> None:
        self._message({"method": "update", "state": state, "buffer_paths": []})

    def act(self, action: str, **extra) -> dict:
        token = self.widget.item and self.widget.item["token"]
        content = {"action": action, "token": token, "client_key": uuid.uuid4().hex} | extra
        self._message({"method": "custom", "content": content})
        return self.acks[-1]


# ---------------------------------------------------------------------- accounts


def test_a_token_is_shown_once_and_stored_only_as_its_hash(project):
    account, token = project.annotators.add("alice", languages="FR, en", level=2)
    assert len(token) >= 43 and account.languages == ["fr", "en"] and account.level == 2
    row = next(r for r in annotator_rows(project) if r["name"] == "alice")
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(annotator_rows(project)) and token not in repr(account)
    assert project.annotators.resolve(token).name == "alice"
    _, other = project.annotators.add("bob")
    assert other != token and project.annotators.resolve(other).name == "bob"


def test_wrong_missing_suspended_and_rotated_tokens_are_refused(project):
    _, token = project.annotators.add("alice")
    for wrong, reason in [
        (None, "no_token"),
        ("", "no_token"),
        (token[:-1] + ("A" if token[-1] != "A" else "B"), "bad_token"),
        ("' OR 1=1 --", "bad_token"),
        (hashlib.sha256(token.encode()).hexdigest(), "bad_token"),  # the stored hash is no key
    ]:
        with pytest.raises(AccessDenied) as denied:
            project.annotators.resolve(wrong)
        assert denied.value.reason == reason
    project.annotators.suspend("alice")
    with pytest.raises(AccessDenied, match="suspended") as denied:
        project.annotators.resolve(token)
    assert denied.value.reason == "suspended"
    project.annotators.resume("alice")
    assert project.annotators.resolve(token).name == "alice"
    new = project.annotators.rotate_token("alice")
    with pytest.raises(AccessDenied, match="not valid"):
        project.annotators.resolve(token)
    assert project.annotators.resolve(new).name == "alice"


def test_bad_requests_say_what_is_wrong_and_change_nothing(project):
    project.annotators.add("alice")
    before = annotator_rows(project)
    for call, message in [
        (lambda: project.annotators.add("alice"), "already has an account"),
        (lambda: project.annotators.add("  "), "needs a name"),
        (lambda: project.annotators.add("<script>"), "invalid annotator name"),
        (lambda: project.annotators.add("x" * 101), "invalid annotator name"),
        (lambda: project.annotators.add("bob", role="boss"), "role must be one of"),
        (lambda: project.annotators.add("bob", level=-1), "level must be"),
        (lambda: project.annotators.add("bob", level="3"), "level must be"),
        (lambda: project.annotators.add("bob", languages="fr;en"), "invalid language code"),
        (lambda: project.annotators.suspend("carol"), "unknown annotator 'carol'"),
        (lambda: project.annotators.resume("carol"), "unknown annotator 'carol'"),
        (lambda: project.annotators.rotate_token("carol"), "unknown annotator 'carol'"),
    ]:
        with pytest.raises(AccountError, match=message):
            call()
    assert annotator_rows(project) == before


def test_an_annotator_who_labeled_before_accounts_keeps_their_answers(project):
    project.submit("t0", {"label": "other"}, annotator="alice")  # no account yet: no links
    assert not project.annotators.links_in_force()
    added = CliRunner().invoke(
        cli, ["annotators", "add", str(project.path), "alice", "--db", project.store.url]
    )
    assert added.exit_code == 0 and "their 1 answers stay" in added.output, added.output
    assert project.annotators.links_in_force()
    token = added.output.strip().rsplit("token=", 1)[1]
    assert project.annotators.resolve(token).id == project.store.annotator_id("alice")
    assert project.annotators.answers("alice") == 1
    assert answers_by(project) == [("alice", "t0")]


# ---------------------------------------------------------------------- who labels in the app


def test_without_accounts_the_served_app_labels_as_the_local_user(project, monkeypatch):
    assert resolve_annotator(project, served()) == (getpass.getuser(), None)
    name, link = resolve_annotator(project, served(LABELKIT_ANNOTATOR="ana"))
    assert (name, link) == ("ana", None)
    with pytest.raises(AccessDenied) as denied:  # a network address needs links
        resolve_annotator(project, served(LABELKIT_SERVE_HOST="0.0.0.0"))
    assert denied.value.reason == "network"
    with pytest.raises(AccessDenied) as denied:  # a token where none exist is not valid
        resolve_annotator(project, served("made-up-token-made-up-token"))
    assert denied.value.reason == "bad_token"


def test_once_accounts_exist_the_served_app_needs_a_valid_link(project):
    _, token = project.annotators.add("alice")
    name, link = resolve_annotator(project, served(token, LABELKIT_ANNOTATOR="boss"))
    assert name == "alice" and link == hashlib.sha256(token.encode()).hexdigest()
    for env, reason in [
        (served(None, LABELKIT_ANNOTATOR="alice"), "no_token"),
        (served("wrong" * 9), "bad_token"),
        (served(token, QUERY_STRING=f"x=1&token={token}&token=other" + "z" * 30), "bad_token"),
    ]:
        with pytest.raises(AccessDenied) as denied:
            resolve_annotator(project, env)
        assert denied.value.reason == reason
    # In a notebook (no server), the local user labels, no token needed.
    assert resolve_annotator(project, {"LABELKIT_ANNOTATOR": "ana"}) == ("ana", None)


def test_a_refused_page_shows_why_and_creates_no_session(project, monkeypatch):
    _, token = project.annotators.add("alice")
    project.annotators.suspend("alice")
    before = annotator_rows(project)
    for query, text in [
        ("", "personal links"),
        ("token=wrongwrongwrongwrongwrong", "not valid"),
        (f"token={token}", "suspended"),
    ]:
        for key, value in served(QUERY_STRING=query, LABELKIT_PROJECT=str(project.path)).items():
            monkeypatch.setenv(key, value)
        if project.store.url.startswith("postgresql"):
            monkeypatch.setenv("LABELKIT_DB_URL", project.store.url)
        page = annotator_app()
        assert not isinstance(page, LabelWidget)
        assert 'class="lk-access-denied"' in page.data and text in page.data
    with project.store.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(annotations)).scalar() == 0
    assert annotator_rows(project) == before  # nobody was created, nothing leased


@pytest.fixture
def app_widget(project, monkeypatch):
    """The served app's widget for a page opened with `token` (as annotator_app builds it)."""
    opened = []

    def open_page(token) -> LabelWidget:
        for key, value in served(token, LABELKIT_PROJECT=str(project.path)).items():
            monkeypatch.setenv(key, value)
        if project.store.url.startswith("postgresql"):
            monkeypatch.setenv("LABELKIT_DB_URL", project.store.url)
        widget = annotator_app()
        assert isinstance(widget, LabelWidget) and widget.state == "labeling"
        opened.append(widget.session.project)
        return widget

    yield open_page
    for app_project in opened:
        app_project.close()


def test_a_suspension_ends_the_next_action_and_saves_nothing(project, app_widget):
    _, token = project.annotators.add("alice")
    widget = app_widget(token)
    browser = Browser(widget)
    assert browser.act("submit", answer={"label": "billing"})["ok"]
    project.annotators.suspend("alice")
    ack = browser.act("submit", answer={"label": "billing"})
    assert not ack["ok"] and "suspended" in ack["error"]
    assert widget.state == "error" and widget.item is None and "suspended" in widget.error
    assert not browser.act("back")["ok"]
    assert answers_by(project) == [("alice", "t0")]
    project.annotators.resume("alice")
    again = Browser(app_widget(token))  # a reload after resume works
    assert again.act("submit", answer={"label": "other"})["ok"]
    assert answers_by(project) == [("alice", "t0"), ("alice", "t1")]


def test_a_rotated_token_ends_the_open_page_of_the_old_link(project, app_widget):
    _, token = project.annotators.add("alice")
    browser = Browser(app_widget(token))
    project.annotators.rotate_token("alice")
    ack = browser.act("skip")
    assert not ack["ok"] and "replaced by a new one" in ack["error"]
    assert answers_by(project) == []


def test_forged_browser_messages_cannot_change_identity_role_or_level(project, app_widget):
    _, alice = project.annotators.add("alice", level=0)
    _, bob = project.annotators.add("bob", role="admin", level=9, languages="fr")
    widget = app_widget(alice)
    browser = Browser(widget)
    before = annotator_rows(project)
    task, item = widget.task, widget.item
    forged = {
        "annotator": "bob",
        "annotator_id": 2,
        "role": "admin",
        "level": 9,
        "token": bob,
        "access_token": bob,
        "link_token": bob,
        "languages": ["en"],
    }
    browser.update_state(
        {"task": {**task, **forged}, "item": {**item, "token": "forged"}, "busy": True}
        | {key: value for key, value in forged.items() if key != "token"}
    )
    assert widget.task == task and widget.item == item and widget.busy is False
    assert widget.session.annotator == "alice"
    # the item's token is the only token an action carries: a forged one is refused
    assert not browser.act("submit", answer={"label": "billing"}, **forged)["ok"]
    extra = {key: value for key, value in forged.items() if key != "token"}
    assert browser.act("submit", answer={"label": "billing"}, **extra)["ok"]
    assert browser.act("skip", **extra)["ok"]
    assert browser.act("escalate", reason="unsure", **extra)["ok"]
    assert answers_by(project) == [("alice", "t0"), ("alice", "t1"), ("alice", "t2")]
    assert annotator_rows(project) == before  # role, level, languages, tokens unchanged
    assert widget.session.annotator == "alice" and widget.task["annotator"] == "alice"


# ---------------------------------------------------------------------- the command line


def test_cli_accounts_round_trip(project, tmp_path):
    path, db = str(project.path), ["--db", project.store.url]
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "annotators",
            "add",
            path,
            "alice",
            "--lang",
            "fr,en",
            "--level",
            "2",
            "--port",
            "9001",
            *db,
        ],
    )
    assert added.exit_code == 0, added.output
    link = added.output.strip().splitlines()[-1]
    assert link.startswith("http://127.0.0.1:9001/?token=")
    token = link.split("token=", 1)[1]
    assert project.annotators.resolve(token).name == "alice"

    listed = runner.invoke(cli, ["annotators", "list", path, *db])
    assert listed.exit_code == 0 and "alice" in listed.output and "fr,en" in listed.output
    assert token not in listed.output
    as_json = runner.invoke(cli, ["annotators", "list", path, "--json", *db])
    assert token not in as_json.output and '"status": "active"' in as_json.output
    files = "".join(p.read_text(errors="replace") for p in project.path.iterdir() if p.is_file())
    assert token not in files  # the link lives in no file of the project either

    assert runner.invoke(cli, ["annotators", "suspend", path, "alice", *db]).exit_code == 0
    assert project.annotators.get("alice").status == "suspended"
    assert runner.invoke(cli, ["annotators", "resume", path, "alice", *db]).exit_code == 0
    rotated = runner.invoke(cli, ["annotators", "rotate-token", path, "alice", *db])
    assert rotated.exit_code == 0
    new = rotated.output.strip().splitlines()[-1]
    assert new.startswith("http://127.0.0.1:9001/?token=")  # the port was remembered
    with pytest.raises(AccessDenied):
        project.annotators.resolve(token)
    assert project.annotators.resolve(new.split("token=", 1)[1]).name == "alice"


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "{path}", "alice"], "already has an account"),
        (["add", "{path}", "bob", "--role", "boss"], "'boss' is not one of"),
        (["add", "{path}", "bob", "--level", "x"], "'x' is not a valid integer"),
        (["add", "{path}", "bob", "--level", "101"], "level must be"),
        (["add", "{path}", "bob", "--lang", "french!"], "invalid language code"),
        (["add", "{path}", "a/b"], "invalid annotator name"),
        (["suspend", "{path}", "carol"], "unknown annotator 'carol'"),
        (["resume", "{path}", "carol"], "unknown annotator 'carol'"),
        (["rotate-token", "{path}", "carol"], "unknown annotator 'carol'"),
    ],
)
def test_cli_bad_input_exits_2_with_one_clear_line(project, args, message):
    project.annotators.add("alice")
    before = annotator_rows(project)
    args = [arg.format(path=project.path) for arg in args] + ["--db", project.store.url]
    result = CliRunner().invoke(cli, ["annotators", *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert annotator_rows(project) == before


def test_serving_on_the_network_needs_access_links(project):
    url = project.store.url
    with pytest.raises(LabelkitError, match=r"refusing to serve on 0\.0\.0\.0"):
        check_serving(project.path, "0.0.0.0", url)
    refused = CliRunner().invoke(
        cli, ["serve", str(project.path), "--host", "0.0.0.0", "--db", url]
    )
    assert refused.exit_code == 2 and "annotators add" in refused.output
    assert check_serving(project.path, "127.0.0.1", url) is False
    project.submit("t0", {"label": "other"}, annotator="ana")  # a token-less annotator
    with pytest.raises(LabelkitError, match="refusing"):
        check_serving(project.path, "192.168.1.20", url)
    project.annotators.add("alice")
    assert check_serving(project.path, "0.0.0.0", url) is True
    assert check_serving(project.path, "::", url) is True
