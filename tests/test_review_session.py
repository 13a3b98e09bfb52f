"""The kernel side of the review app, driven by the messages a browser would send: who may
review (decided in the kernel, from the link), what a forged message can do (nothing), and
the review and escalation flows."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from labelkit import Project
from labelkit.ui.review_session import review_app
from labelkit.ui.review_widget import ReviewWidget

LABELKIT = str(Path(sys.executable).with_name("labelkit"))
HOSTILE = '<img src=x onerror=alert(1)><script>alert("x")</script>'


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p", "classification", overlap=2)
    rows = [{"id": f"t{i}", "text": f"message {i}"} for i in range(4)]
    rows[0]["text"] = HOSTILE
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    for i in range(3):
        project.submit(f"t{i}", {"label": "billing"}, annotator="ana")
        project.submit(f"t{i}", {"label": "account"}, annotator="bo")
    project.submit("t3", annotator="bo", status="escalated", comment=f"odd {HOSTILE}")
    yield project
    project.close()


class Browser:
    """Sends what review.js sends and records the acks."""

    def __init__(self, widget: ReviewWidget):
        self.widget, self.acks = widget, []
        widget.send = lambda content, buffers=None: self.acks.append(content)

    def act(self, action, **extra):
        message = {"action": action, "client_key": uuid.uuid4().hex} | extra
        self.widget._on_action(self.widget, message, [])
        return self.acks[-1]

    def token(self):
        return self.widget.entry["token"]


def served(monkeypatch, project, token=None):
    """The environment of a kernel that `labelkit serve --app review` started for a page."""
    monkeypatch.setenv("LABELKIT_PROJECT", str(project.path))
    monkeypatch.setenv("LABELKIT_SERVE_HOST", "127.0.0.1")
    monkeypatch.setenv("QUERY_STRING", f"token={token}" if token else "")


def reviews(project) -> list[tuple]:
    with project.store.reading() as conn:
        return conn.exec_driver_sql(
            "SELECT annotation_id, reviewer_id, verdict, comment FROM reviews ORDER BY id"
        ).all()


def test_only_reviewers_and_admins_get_the_app(project, monkeypatch):
    _, ana_token = project.annotators.add("ana")  # ana labeled before: now an account
    _, rita_token = project.annotators.add("rita", role="reviewer")
    _, adam_token = project.annotators.add("adam", role="admin")

    served(monkeypatch, project, ana_token)
    page = review_app()
    assert not isinstance(page, ReviewWidget)
    html = page.data
    assert 'data-reason="not_reviewer"' in html and "This page is for reviewers" in html

    served(monkeypatch, project, None)
    assert 'data-reason="no_token"' in review_app().data  # links are in force: no link, no app
    served(monkeypatch, project, "x" * 43)
    assert 'data-reason="bad_token"' in review_app().data

    for token, name, role in ((rita_token, "rita", "reviewer"), (adam_token, "adam", "admin")):
        served(monkeypatch, project, token)
        widget = review_app()
        assert isinstance(widget, ReviewWidget)
        assert (widget.task["reviewer"], widget.task["role"]) == (name, role)
        widget.session.project.close()

    project.annotators.suspend("rita")
    served(monkeypatch, project, rita_token)
    assert 'data-reason="suspended"' in review_app().data


def test_local_user_without_accounts_reviews_as_admin(project, monkeypatch):
    served(monkeypatch, project, None)
    monkeypatch.setenv("LABELKIT_ANNOTATOR", "lead")
    widget = review_app()
    assert isinstance(widget, ReviewWidget)
    assert (widget.task["reviewer"], widget.task["role"]) == ("lead", "admin")
    widget.session.project.close()


def test_review_flow_and_forged_messages(project):
    project.annotators.add("rita", role="reviewer")
    widget = review_app_for(project, "rita")
    browser = Browser(widget)
    assert widget.state == "choose"
    assert widget.options["pending"] == 6 and widget.options["escalations"] == 1

    assert browser.act("start", mode="annotator", annotator="ana")["ok"]
    assert widget.state == "reviewing" and widget.entry["annotator"] == "ana"
    assert widget.entry["others"][0]["annotator"] == "bo"
    first = widget.entry

    # Forged messages: browser state, made-up tokens, named answers and reviewers: nothing.
    widget.set_state({"task": {"reviewer": "boss"}, "entry": {"token": "x"}, "busy": True})
    assert widget.task["reviewer"] == "rita" and widget.entry == first
    forged = [
        {"token": "made-up", "verdict": "rejected", "comment": "x"},
        {"token": first["token"], "verdict": "deleted", "comment": "x"},
        {"token": first["token"], "verdict": "rejected", "comment": ""},  # must say why
        {"token": first["token"], "verdict": "rejected", "comment": ["not", "text"]},
    ]
    for message in forged:
        assert not browser.act("verdict", **message)["ok"]
    assert not browser.act("resolve", token=first["token"], answer={"label": "other"})["ok"]
    browser.act("delete_everything")
    assert reviews(project) == []

    # A verdict goes to the answer shown, by the session's reviewer, whatever else is sent.
    ack = browser.act(
        "verdict",
        token=first["token"],
        verdict="rejected",
        comment="not billing",
        annotation_id=1,
        reviewer="boss",
    )
    assert ack["ok"] and widget.notice == "Rejected."
    shown_id = project.annotations().query("annotator == 'ana' and item == @first['item']")
    rita = project.store.annotator_id("rita")
    assert reviews(project) == [(int(shown_id["id"].iloc[0]), rita, "rejected", "not billing")]
    assert browser.act("verdict", token=first["token"], verdict="accepted")["ok"] is False  # stale

    assert browser.act("verdict", token=browser.token(), verdict="accepted", comment="")["ok"]
    assert browser.act("skip", token=browser.token())["ok"]
    assert widget.state == "done"
    assert widget.progress["rejected"] == 1 and widget.progress["accepted"] == 1
    assert [r[2] for r in reviews(project)] == ["rejected", "accepted"]

    # Demoted mid-session: the next action fails and the page is done.
    browser.act("menu")
    browser.act("start", mode="sampled")
    project.annotators.update("rita", role="annotator")
    ack = browser.act("verdict", token=browser.token(), verdict="accepted")
    assert not ack["ok"] and widget.state == "error" and "for reviewers" in widget.error
    assert len(reviews(project)) == 2


def test_reviewers_never_see_or_review_their_own_answers(project):
    project.annotators.add("ana", role="reviewer")  # ana answered t0..t2
    widget = review_app_for(project, "ana")
    browser = Browser(widget)
    assert [a["name"] for a in widget.options["annotators"]] == ["bo"]
    assert not browser.act("start", mode="annotator", annotator="ana")["ok"]
    assert browser.act("start", mode="sampled")["ok"]
    seen = set()
    while widget.state == "reviewing":
        seen.add(widget.entry["annotator"])
        browser.act("skip", token=browser.token())
    assert seen == {"bo"}


def test_escalation_flow_and_payload_is_data(project):
    widget = review_app_for(project, "lead", local=True)
    browser = Browser(widget)
    assert browser.act("escalations")["ok"] and widget.state == "escalations"
    entry = widget.entry
    assert entry["item"] == "t3"
    assert entry["reasons"] == [{"annotator": "bo", "reason": f"odd {HOSTILE}"}]  # text, as is
    ack = browser.act("resolve", token=entry["token"], answer={"label": "spam"})
    assert not ack["ok"] and "not one of the labels" in ack["error"]
    ack = browser.act("resolve", token=entry["token"], answer={"label": "other"}, comment="ok")
    assert ack["ok"] and widget.state == "done"
    table = project.consensus().set_index("item")
    assert table.loc["t3", "value"] == "other" and table.loc["t3", "confidence"] == 1.0

    # The hostile field travels as text for textContent (no HTML field in the payload).
    browser.act("menu")
    browser.act("start", mode="annotator", annotator="ana")
    assert widget.entry["item"] == "t0"  # ana's oldest answer
    assert widget.entry["fields"]["text"] == {"text": HOSTILE}
    assert "gold" not in json.dumps(widget.entry)


def test_bob_does_not_resolve_what_he_escalated(project):
    project.annotators.add("bo", role="reviewer")
    widget = review_app_for(project, "bo")
    assert widget.options["escalations"] == 0
    Browser(widget).act("escalations")
    assert widget.state == "done"


def test_serve_review_app_and_reviewer_links(project, tmp_path):
    out = subprocess.run(
        [LABELKIT, "annotators", "add", str(project.path), "rita", "--role", "reviewer",
         "--port", "9100", "--review-port", "9101"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()  # fmt: skip
    assert out[-2].startswith("review app link for rita")
    assert out[-1].startswith("http://127.0.0.1:9101/?token=")
    assert out[-3].startswith("http://127.0.0.1:9100/?token=")
    assert out[-1].split("token=")[1] == out[-3].split("token=")[1]  # one person, one token
    annotator = subprocess.run(
        [LABELKIT, "annotators", "add", str(project.path), "cy"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "review app" not in annotator
    rotated = subprocess.run(
        [LABELKIT, "annotators", "rotate-token", str(project.path), "rita"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()  # fmt: skip
    assert rotated[-1].startswith("http://127.0.0.1:9101/?token=")  # the port is remembered

    from labelkit.serve import APPS, default_port

    assert APPS["review"] == "review.ipynb" and default_port("review") == 8867
    notebook = Path(__file__).parents[1] / "notebooks" / "review.ipynb"
    source = "".join(json.loads(notebook.read_text())["cells"][0]["source"])
    assert "review_app()" in source


def review_app_for(project, name, local=False) -> ReviewWidget:
    from labelkit.ui.review_session import ReviewSession

    return ReviewWidget(ReviewSession(project, name, local=local))


def test_item_metadata_is_shown_to_reviewers_and_never_sent_to_annotators(tmp_path):
    secret = f"crawled from forum-42 {HOSTILE}"
    rows = [
        {"id": f"m{i}", "text": f"message {i}", "metadata": {"source": secret, "seed": i}}
        for i in range(2)
    ]
    rows[1]["metadata"]["notes"] = {"flags": ["a", "b"]}
    with Project.create(tmp_path / "m", "classification", overlap=2) as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        # The annotator's widget: no trait ever holds the metadata, on any item.
        label = project.label("ana")
        seen = []
        while label.state == "labeling":
            seen.append(json.dumps(label.get_state(), default=str))
            Browser(label).act("submit", token=label.item["token"], answer={"label": "billing"})
        assert len(seen) == 2 and not any("forum-42" in state for state in seen)

        for reviewer, role in (("rita", "reviewer"), ("adam", "admin")):
            project.annotators.add(reviewer, role=role)
            widget = review_app_for(project, reviewer)
            Browser(widget).act("start", mode="annotator", annotator="ana")
            shown = widget.entry["metadata"]
            assert shown == [{"name": "seed", "value": "0"}, {"name": "source", "value": secret}]
            Browser(widget).act("skip", token=widget.entry["token"])
            notes = {"name": "notes", "value": '{"flags": ["a", "b"]}'}  # JSON, as text
            assert widget.entry["metadata"][0] == notes

        # An escalated item shows its metadata too; long values are cut.
        project.submit("m1", annotator="bo", status="escalated", comment="?")
        with project.store.writing() as conn:
            conn.exec_driver_sql(
                "UPDATE items SET metadata = ? WHERE key = 'm1'",
                (json.dumps({"huge": "x" * 100_000}),),
            )
        widget = review_app_for(project, "adam")
        Browser(widget).act("escalations")
        (huge,) = widget.entry["metadata"]
        assert huge["name"] == "huge" and 1_000 < len(huge["value"]) < 3_000
