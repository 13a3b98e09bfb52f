"""What the label widget's exam screens rely on from the kernel (widgets/label.js, "Standing,
exams and training" in widgets/PROTOCOL.md): the keys, refused actions said in the annotator's
language, and a left exam shown as one to resume."""

import uuid

import pandas as pd

from labelkit import Project
from labelkit.ui import DEFAULT_KEYMAP, LabelWidget
from labelkit.ui.session import LabelSession

LABELS = ["billing", "technical issue", "account", "feedback", "other"]


def make_project(path):
    project = Project.create(path, "classification")
    rows = [{"id": "w0", "text": "work", "level": 1}]
    rows += [
        {"id": f"b{i}", "text": f"exam {i}", "level": 0, "gold": {"label": LABELS[i]}}
        | {"exam": "basics", "gold_explanation": "because"}
        for i in range(3)
    ]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    project.configure_quality(honeypot_rate=0, exams={"basics": {"level": 1}})
    return project


def act(widget, acks, action, **extra):
    message = {"action": action, "client_key": uuid.uuid4().hex}
    message["token"] = widget.item and widget.item["token"]
    widget._on_action(widget, message | extra, [])
    return acks[-1]


def widget_for(project, name):
    widget = LabelWidget(LabelSession(project, name))
    acks = []
    widget.send = lambda content, buffers=None: acks.append(content)
    return widget, acks


def test_the_level_panel_and_leaving_an_exam_have_keys():
    assert DEFAULT_KEYMAP["level"] == "l" and DEFAULT_KEYMAP["leave_exam"] == "q"


def test_refused_exam_actions_are_said_in_the_annotators_language(tmp_path):
    project = make_project(tmp_path / "p")
    project.annotators.add("ana", locale="fr")
    widget, acks = widget_for(project, "ana")
    ack = act(widget, acks, "exam_start", name=["basics"])  # a forged name
    assert not ack["ok"] and ack["error"] == "Quel examen\u00a0? Choisissez-en un dans la liste."
    assert act(widget, acks, "exam_start", name="basics")["ok"] and widget.state == "exam"
    for refused in ("skip", "back"):
        ack = act(widget, acks, refused)
        assert not ack["ok"]
        assert ack["error"] == "Répondez aux éléments de l’examen, ou quittez d’abord l’examen."
    assert widget.state == "exam" and widget.exam["answered"] == 0
    project.close()


def test_a_left_exam_is_offered_to_resume(tmp_path):
    project = make_project(tmp_path / "p")
    widget, acks = widget_for(project, "ana")
    assert act(widget, acks, "exam_start", name="basics")["ok"]
    assert act(widget, acks, "submit", answer={"label": "billing"})["ok"]
    assert act(widget, acks, "exam_leave")["ok"]
    assert widget.state == "done" and widget.exam == {}
    (basics,) = widget.standing["exams"]
    assert basics["in_progress"] is True  # the page's button reads "Resume"
    assert act(widget, acks, "exam_start", name="basics")["ok"]
    assert widget.exam["answered"] == 1
    project.close()
