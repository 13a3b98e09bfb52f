"""The kernel side of the labeling widget, driven by the messages a browser would send."""

import json
import uuid

import pandas as pd
import pytest

from labelkit import Project
from labelkit.ui import LabelWidget

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>[link](javascript:alert(1))'


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p", "classification")
    rows = [
        {"id": f"t{i}", "text": f"message {i}", "gold": None, "suggestions": None} for i in range(5)
    ]
    rows[2]["suggestions"] = {"label": "account"}
    # t4 is gold: kept out of the work queue, served only as a hidden honeypot. No honeypots
    # here (rate 0), so the work is t0..t3 in import order; the gold test turns them on.
    rows[4]["gold"] = {"label": "billing"}
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    project.configure_quality(honeypot_rate=0)
    yield project
    project.close()


class Browser:
    """Sends what label.js sends and records the acks."""

    def __init__(self, widget):
        self.widget, self.acks = widget, []
        widget.send = lambda content, buffers=None: self.acks.append(content)

    def act(self, action, client_key=None, **extra):
        message = {"action": action, "token": self.widget.item and self.widget.item["token"]}
        message["client_key"] = client_key or uuid.uuid4().hex
        self.widget._on_action(self.widget, message | extra, [])
        return self.acks[-1] if self.acks else None


def test_labels_items_in_order_until_done(project):
    widget = project.label("ana")
    browser = Browser(widget)
    assert widget.state == "labeling" and widget.task["annotator"] == "ana"
    seen = []
    while widget.state == "labeling":
        seen.append(widget.item["fields"]["text"]["text"])
        assert browser.act("submit", answer={"label": "other"})["ok"]
    assert seen == [f"message {i}" for i in range(4)]
    assert widget.state == "done" and widget.item is None
    assert widget.progress["done"] == 4 and widget.progress["today"] == 4
    assert widget.progress["remaining"] == 0


def test_invalid_answer_keeps_the_item_and_says_why(project):
    widget = project.label("ana")
    token = widget.item["token"]
    ack = Browser(widget).act("submit", answer={"label": "refund"})
    assert not ack["ok"] and "'refund' is not one of the labels" in ack["error"]
    assert widget.error == ack["error"]
    assert widget.item["token"] == token
    assert project.annotations().empty


def test_double_submit_writes_once(project):
    widget = project.label("ana")
    browser = Browser(widget)
    token = widget.item["token"]
    first = browser.act("submit", client_key="key-000001", answer={"label": "billing"})
    # the second press carries the old token and the same client key
    widget._on_action(
        widget,
        {
            "action": "submit",
            "token": token,
            "client_key": "key-000001",
            "answer": {"label": "billing"},
        },
        [],
    )
    assert first["ok"] and not browser.acks[-1]["ok"]
    assert len(project.annotations()) == 1
    assert widget.item["fields"]["text"]["text"] == "message 1"


def test_back_edits_with_a_new_version(project):
    widget = project.label("ana")
    browser = Browser(widget)
    browser.act("submit", answer={"label": "billing"})
    browser.act("submit", answer={"label": "account"})
    browser.act("back")
    assert widget.item["editing"] and widget.item["answer"] == {"label": "account"}
    assert widget.progress["position"] == "editing 2 of 2"
    browser.act("back")
    assert widget.item["answer"] == {"label": "billing"}
    browser.act("submit", answer={"label": "feedback"})  # a new version; back to the newest item
    assert not widget.item["editing"]
    assert widget.item["fields"]["text"]["text"] == "message 2"
    history = project.annotations().query("item == 't0'")
    assert list(history["version"]) == [1, 2]
    assert [a["label"] for a in history["answer"]] == ["billing", "feedback"]


def test_back_with_nothing_before(project):
    widget = project.label("ana")
    assert widget.progress["can_back"] is False  # the page turns Back off on the first item
    browser = Browser(widget)
    ack = browser.act("back")
    assert not ack["ok"] and "no earlier item" in widget.error
    browser.act("submit", answer={"label": "billing"})
    assert widget.progress["can_back"] is True
    browser.act("back")  # the first item again: nothing before it
    assert widget.item["editing"] and widget.progress["can_back"] is False
    browser.act("forward")
    assert widget.progress["can_back"] is True


def test_skip_escalate_report(project):
    widget = project.label("ana")
    browser = Browser(widget)
    assert browser.act("skip")["ok"]
    assert not browser.act("escalate", reason="  ")["ok"]  # a reason is required
    assert browser.act("escalate", reason="Is this even English?")["ok"]
    assert browser.act("report", reason="disturbing")["ok"]
    statuses = project.annotations()[["item", "status", "comment"]].fillna("").values.tolist()
    assert statuses == [
        ["t0", "skipped", ""],
        ["t1", "escalated", "Is this even English?"],
        ["t2", "reported", "disturbing"],
    ]
    assert widget.notice == "Reported."


def test_suggestions_prefill_and_gold_never_reaches_the_browser(project):
    project.configure_quality(honeypot_rate=0.99)  # the gold item comes right after t0
    widget = project.label("ana")
    browser = Browser(widget)
    payloads, seen = [], []
    while widget.state == "labeling":
        payloads.append(json.dumps([widget.item, widget.task, widget.progress]))
        seen.append(widget.item["fields"]["text"]["text"])
        if widget.item["fields"]["text"]["text"] == "message 2":
            assert widget.item["answer"] == {"label": "account"}
            assert widget.item["suggested"] == ["label"]
        browser.act("submit", answer={"label": "other"})
    assert seen == ["message 0", "message 4", "message 1", "message 2", "message 3"]
    for text in payloads:
        assert "gold" not in text and "explanation" not in text
    # the gold item looks exactly like any other (same keys at every level)
    shapes = [sorted(json.loads(p)[0]) for p in payloads]
    assert all(shape == shapes[0] for shape in shapes)


def test_forged_state_cannot_change_identity_or_item(project):
    widget = project.label("ana")
    browser = Browser(widget)
    item, task = widget.item, widget.task
    widget.set_state(
        {"task": {**task, "annotator": "boss"}, "item": {"token": "forged"}, "busy": True}
    )
    assert widget.task == task and widget.item == item and widget.busy is False
    browser.act("submit", answer={"label": "billing"}, annotator="boss", annotator_id=1)
    assert project.annotations()["annotator"].tolist() == ["ana"]


@pytest.mark.parametrize(
    "message",
    [
        "not a dict",
        {"action": "delete_everything"},
        {"action": "submit", "token": "made-up", "client_key": "abcdefgh12", "answer": {}},
        {"action": "submit", "client_key": ["list"], "answer": {"label": "billing"}},
        {"action": "submit", "client_key": "x" * 500, "answer": {"label": "billing"}},
        {"action": "escalate", "client_key": "abcdefgh12", "reason": {"not": "text"}},
    ],
)
def test_forged_messages_write_nothing(project, message):
    widget = project.label("ana")
    if isinstance(message, dict) and "token" not in message and message["action"] != "x":
        message = {**message, "token": widget.item["token"]}
    widget.send = lambda *a, **k: None
    widget._on_action(widget, message, [])
    assert project.annotations().empty
    assert widget.state == "labeling"


def test_hostile_text_is_sanitized_before_it_becomes_html(tmp_path):
    project = Project.create(tmp_path / "p", "pairwise-preference")
    project.import_items(
        pd.DataFrame([{"prompt": HOSTILE, "response_a": HOSTILE, "response_b": "**fine**"}]),
        progress=False,
    )
    widget = project.label("ana")
    fields = widget.item["fields"]
    assert fields["prompt"] == {"text": HOSTILE}  # plain text: the browser uses textContent
    html = fields["response_a"]["html"]
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    assert fields["response_b"]["html"].strip() == "<p><strong>fine</strong></p>"
    assert widget.task["compare"] == ["response_a", "response_b"]
    project.close()


def test_images_travel_as_bytes(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    project = Project.create(tmp_path / "p", "image-validation")
    project.import_items(
        pd.DataFrame([{"prompt": "p", "image": str(image)}, {"prompt": "q", "image": str(image)}]),
        progress=False,
    )
    widget = project.label("ana")
    payload = widget.item["fields"]["image"]
    assert payload["mime"] == "image/png" and payload["bytes"].startswith(b"\x89PNG")
    image.unlink()  # the file went away after import: a clear placeholder, not a crash
    Browser(widget).act(
        "submit", answer={"matches_prompt": "yes", "has_artifacts": "no", "safe": "yes"}
    )
    assert widget.item["fields"]["image"] == {"missing": "not_found"}
    project.close()


def test_unknown_keymap_action_is_refused(project):
    with pytest.raises(Exception, match="unknown key map actions"):
        project.label("ana", keymap={"fly": "f"})
    widget = project.label("ana", keymap={"skip": "k"})
    assert widget.keymap["skip"] == "k" and widget.keymap["submit"] == "Enter"
    assert isinstance(widget, LabelWidget)


def test_store_failure_is_shown_not_swallowed(project, monkeypatch):
    widget = project.label("ana")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(project.store, "submit_and_next", broken)  # the session's path
    ack = Browser(widget).act("submit", answer={"label": "billing"})
    assert not ack["ok"] and "disk full" in widget.error and "not saved" in widget.error
    assert widget.state == "labeling"
