"""Exams and training through the session and the widget's messages: fail, retake, pass, the
level granted, a retry status restored, training feedback, attempts and languages."""

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from labelkit import Project
from labelkit.gold import ExamError, history
from labelkit.store.tables import exam_answers
from labelkit.ui import LabelWidget
from labelkit.ui.session import LabelSession

LABELS = ["billing", "technical issue", "account", "feedback", "other"]
EXPLANATION = "A charge on the card is billing"


def make_project(path, db_url=None, **exams):
    project = Project.create(path, "classification", db_url=db_url)
    rows = [{"id": f"w{i}", "text": f"work {i}", "level": 1} for i in range(3)]
    rows += [
        {
            "id": f"b{i}",
            "text": f"exam {i}",
            "level": 0,
            "gold": {"label": LABELS[i]},
            "exam": "basics",
            "gold_explanation": f"{EXPLANATION} {i}",
        }
        for i in range(5)
    ]
    rows += [
        {
            "id": f"t{i}",
            "text": f"practice {i}",
            "level": 0,
            "gold": {"label": "billing"},
            "exam": "practice",
            "gold_explanation": EXPLANATION,
        }
        for i in range(2)
    ]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    exams = exams or {
        "basics": {"level": 1, "pass_rate": 0.8},
        "practice": {"level": 0, "training": True},
    }
    project.configure_quality(honeypot_rate=0, exams=exams)
    return project


class Browser:
    """Sends what label.js sends (see widgets/PROTOCOL.md) and records the acks."""

    def __init__(self, widget):
        self.widget, self.acks = widget, []
        widget.send = lambda content, buffers=None: self.acks.append(content)

    def act(self, action, **extra):
        message = {"action": action, "client_key": uuid.uuid4().hex}
        message["token"] = self.widget.item and self.widget.item["token"]
        self.widget._on_action(self.widget, message | extra, [])
        return self.acks[-1]

    def answer_exam(self, project, right: int):
        """Answer the running exam: the first `right` items rightly, the others wrongly."""
        for n in range(self.widget.exam["total"]):
            assert self.widget.state == "exam"
            item = self.widget.session.shown.item
            wanted = project.store.gold_of(item.id)["answer"]["label"]
            label = wanted if n < right else next(x for x in LABELS if x != wanted)
            assert self.act("submit", answer={"label": label})["ok"]


def test_a_new_annotator_fails_retakes_passes_and_gets_work(tmp_path, db_url):
    project = make_project(tmp_path / "p", db_url)
    project.annotators.add("ana")
    widget = LabelWidget(LabelSession(project, "ana"))
    browser = Browser(widget)
    assert widget.state == "done" and widget.item is None  # level-1 work only: nothing yet
    names = [e["name"] for e in widget.standing["exams"]]
    assert names == ["practice", "basics"]
    assert (
        "Pass the exam 'basics' (80% needed) to reach level 1."
        in (widget.standing["next_level"]["requires"])
    )

    assert browser.act("exam_start", name="basics")["ok"]
    assert widget.state == "exam" and widget.exam == {
        "name": "basics",
        "training": False,
        "answered": 0,
        "total": 5,
    }
    first = widget.item
    assert set(first) >= {"token", "fields", "answer", "suggested", "sensitive", "editing"}
    assert browser.act("skip")["ok"] is False  # exam items are answered, not skipped
    assert browser.act("submit", answer={"label": "nope"})["ok"] is False  # validated
    browser.answer_exam(project, right=2)
    assert widget.feedback == {}  # a real exam says nothing per answer
    assert widget.exam_result | {"attempts_left": None} == {
        "exam": "basics",
        "training": False,
        "score": 0.4,
        "passed": False,
        "pass_rate": 0.8,
        "answered": 5,
        "level": 0,
        "status": "active",
        "attempts_left": None,
    }
    assert widget.state == "done" and widget.exam == {}
    assert project.next_item("ana") is None

    assert browser.act("exam_start", name="basics")["ok"]  # a retake
    browser.answer_exam(project, right=4)
    assert widget.exam_result["passed"] and widget.exam_result["level"] == 1
    assert widget.state == "labeling" and widget.item["fields"]["text"]["text"] == "work 0"
    assert widget.standing["level"] == 1
    events = project.annotator_history("ana")
    assert [(e["kind"], e["old"], e["new"]) for e in events] == [
        ("level", "0", "1"),
        ("exam", "basics", "passed"),
        ("exam", "basics", "failed"),
    ]
    assert events[1]["reason"] == "passed the exam 'basics' with 0.80 (0.80 needed)"
    assert events[2]["reason"] == "failed the exam 'basics' with 0.40 (0.80 needed)"
    # passed: no longer offered; exam answers never became annotations
    assert [e["name"] for e in project.exams("ana")] == ["practice"]
    assert project.annotations().empty
    with project.store.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(exam_answers)).scalar() == 10
    project.close()


def test_training_returns_the_score_and_explanation_after_each_answer(tmp_path):
    project = make_project(tmp_path / "p")
    widget = LabelWidget(LabelSession(project, "ana"))
    browser = Browser(widget)
    assert browser.act("exam_start", name="practice")["ok"]
    assert widget.exam["training"] is True
    assert browser.act("submit", answer={"label": "other"})["ok"]
    assert widget.feedback == {"score": 0.0, "explanation": EXPLANATION}
    assert "billing" not in str(widget.feedback).replace(EXPLANATION, "")  # not the answer
    assert browser.act("submit", answer={"label": "billing"})["ok"]
    assert widget.feedback == {"score": 1.0, "explanation": EXPLANATION}
    assert widget.exam_result["score"] == 0.5 and widget.exam_result["training"] is True
    project.close()


def test_leaving_an_exam_keeps_the_attempt_for_later(tmp_path):
    project = make_project(tmp_path / "p")
    session = LabelSession(project, "ana")
    session.start()
    shown = session.exam_start("basics")
    session.submit(shown["token"], uuid.uuid4().hex, {"label": "billing"})
    assert session.exam_progress["answered"] == 1
    session.exam_leave()
    resumed = LabelSession(project, "ana")
    resumed.exam_start("basics")
    assert resumed.exam_progress == {
        "name": "basics",
        "training": False,
        "answered": 1,
        "total": 5,
    }
    project.close()


def test_a_retry_annotator_retakes_their_levels_exam_and_gets_work_back(tmp_path):
    project = make_project(tmp_path / "p", basics={"level": 1, "max_attempts": 1})
    project.annotators.add("ana")
    session = LabelSession(project, "ana")
    session.exam_start("basics")
    for _ in range(5):
        item = session.shown.item
        wanted = project.store.gold_of(item.id)["answer"]["label"]
        result = session.submit(session.shown.token, uuid.uuid4().hex, {"label": wanted})
    assert result["passed"] and result["level"] == 1 and result["attempts_left"] == 0
    with pytest.raises(ExamError, match="already passed"):
        session.exam_start("basics")
    ana = project.annotators.get("ana").id
    with project.store.writing() as conn:  # what the gold rules do to a middling annotator
        history.change(conn, ana, "gold accuracy 0.70 ... is under 0.80", status="retry")
    assert project.next_item("ana") is None
    assert [e["name"] for e in project.exams("ana")] == ["basics"]  # a fresh attempt count
    session = LabelSession(project, "ana")
    session.exam_start("basics")
    for _ in range(5):
        item = session.shown.item
        wanted = project.store.gold_of(item.id)["answer"]["label"]
        result = session.submit(session.shown.token, uuid.uuid4().hex, {"label": wanted})
    assert result["status"] == "active" and result["level"] == 1
    assert project.next_item("ana") is not None
    assert project.annotator_history("ana")[0]["reason"] == (
        "passed the exam 'basics' with 1.00 (0.80 needed): work is back"
    )
    project.close()


def test_which_exams_are_open(tmp_path):
    project = make_project(
        tmp_path / "p",
        basics={"level": 1, "max_attempts": 1},
        french={"level": 0, "language": "fr"},
        expert={"level": 3},
    )
    project.add_gold("w0", {"label": "billing"}, exam="french")
    project.add_gold("w1", {"label": "billing"}, exam="expert")
    project.annotators.add("ana", languages="en")
    assert [e["name"] for e in project.exams("ana")] == ["basics"]
    with pytest.raises(ExamError, match="for annotators working in fr"):
        LabelSession(project, "ana").exam_start("french")
    with pytest.raises(ExamError, match="first reach level 2"):
        LabelSession(project, "ana").exam_start("expert")
    with pytest.raises(ExamError, match="unknown exam 'nope'"):
        LabelSession(project, "ana").exam_start("nope")
    session = LabelSession(project, "ana")
    session.exam_start("basics")
    for _ in range(5):
        session.submit(session.shown.token, uuid.uuid4().hex, {"label": "other"})
    with pytest.raises(ExamError, match="no attempts left"):
        session.exam_start("basics")
    project.annotators.suspend("ana")
    assert project.exams("ana") == []
    project.close()
