"""Honeypots: mixed into work at the configured rate, never twice, never recognizable in what
the browser receives; exam items never in normal work."""

import json
import threading
import uuid

import pandas as pd
import sqlalchemy as sa

from labelkit import Project
from labelkit.gold.honeypots import due
from labelkit.store.tables import items
from labelkit.ui import LabelWidget
from labelkit.ui.session import LabelSession

EXPLANATION = "It is about a charge on the card"


def make_project(path, db_url=None, *, rate=0.25, normal=120, honeypots=30):
    project = Project.create(path, "classification", db_url=db_url)
    rows = [
        {"id": f"n{i}", "text": f"message {i}", "gold": None, "exam": None} for i in range(normal)
    ]
    rows += [
        {
            "id": f"g{i}",
            "text": f"message {normal + i}",
            "gold": {"label": "billing"},
            "gold_explanation": EXPLANATION,
            "exam": None,
        }
        for i in range(honeypots)
    ]
    rows += [
        {
            "id": f"x{i}",
            "text": f"message {normal + honeypots + i}",
            "gold": {"label": "account"},
            "gold_explanation": EXPLANATION,
            "exam": "basics",
        }
        for i in range(4)
    ]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    project.configure_quality(honeypot_rate=rate, seed=3, exams={"basics": {"level": 0}})
    return project


def gold_ids(project, exam=False):
    from labelkit.store.tables import gold

    with project.store.reading() as conn:
        where = gold.c.exam.is_not(None) if exam else gold.c.exam.is_(None)
        return set(conn.execute(sa.select(gold.c.item_id).where(where)).scalars())


def label_all(project, name, answer=None):
    served = []
    item = project.next_item(name)
    while item is not None:
        served.append(item.id)
        _, item = project.submit_and_next(item, answer or {"label": "billing"}, annotator=name)
    return served


def test_honeypots_come_at_the_rate_never_twice_and_exam_items_never(tmp_path, db_url):
    project = make_project(tmp_path / "p", db_url, rate=0.25)
    served = label_all(project, "ana")
    honeypots, exam_items = gold_ids(project), gold_ids(project, exam=True)
    got = [i for i in served if i in honeypots]
    assert len(got) == len(set(got))  # never the same honeypot twice
    assert not set(served) & exam_items  # exam items only in exams
    normal = [i for i in served if i not in honeypots]
    assert len(normal) == 120  # every normal item, once
    # at the configured rate: about a quarter of the normal items are followed by one
    assert 0.15 <= len(got) / len(normal) <= 0.35
    # deterministic per annotator: the draws depend on (seed, annotator, item) only
    me = project.annotators.get("ana").id
    drawn = [due(0.25, 3, me, i) for i in normal]
    assert sum(drawn) == len(got) or len(got) == len(honeypots)
    project.close()


def test_a_honeypot_follows_a_drawn_item_through_next_item_too(tmp_path):
    project = make_project(tmp_path / "p", rate=0.5)
    honeypots = gold_ids(project)
    me = project.store.annotator_id("ana")
    item = project.next_item("ana")
    for _ in range(30):
        drawn = due(0.5, 3, me, item.id)
        project.submit(item, {"label": "other"}, annotator="ana")
        following = project.next_item("ana")
        assert (following.id in honeypots) == drawn
        if drawn:  # answer the honeypot: the next draw comes from a normal item again
            project.submit(following, {"label": "billing"}, annotator="ana")
            following = project.next_item("ana")
        item = following
    project.close()


def test_a_skipped_honeypot_is_never_served_again(tmp_path):
    project = make_project(tmp_path / "p", rate=0.5, honeypots=3)
    honeypots = gold_ids(project)
    item, skipped = project.next_item("ana"), set()
    served = []
    while item is not None:
        served.append(item.id)
        status = "skipped" if item.id in honeypots else "submitted"
        answer = None if status == "skipped" else {"label": "other"}
        skipped |= {item.id} if status == "skipped" else set()
        _, item = project.submit_and_next(item, answer, annotator="ana", status=status)
    assert skipped == honeypots
    assert sorted(i for i in served if i in honeypots) == sorted(honeypots)  # each once
    project.close()


def test_honeypots_respect_level_and_language(tmp_path):
    project = Project.create(tmp_path / "p", "classification")
    rows = [{"id": f"n{i}", "text": f"m {i}", "level": 0, "language": "fr"} for i in range(40)]
    rows += [
        {"id": "hard", "text": "h", "level": 2, "language": "fr", "gold": {"label": "billing"}},
        {"id": "de", "text": "d", "level": 0, "language": "de", "gold": {"label": "billing"}},
        {"id": "ok", "text": "o", "level": 0, "language": "fr", "gold": {"label": "billing"}},
    ]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    project.configure_quality(honeypot_rate=0.5)
    project.annotators.add("ana", languages="fr")
    served = {project.store.item(i).key for i in label_all(project, "ana")}
    assert "ok" in served and not served & {"hard", "de"}
    project.close()


def test_a_honeypot_payload_is_indistinguishable_from_a_normal_one(tmp_path):
    project = make_project(tmp_path / "p", rate=0.5)
    honeypots = gold_ids(project)
    widget = LabelWidget(LabelSession(project, "ana"))
    sent = []
    widget.send = lambda content, buffers=None: sent.append(content)
    normal_payload = honeypot_payload = None
    for _ in range(60):
        item = widget.session.shown.item
        payload = dict(widget.item)
        if item.id in honeypots:
            honeypot_payload = payload
        else:
            normal_payload = payload
        if normal_payload and honeypot_payload:
            break
        message = {"action": "submit", "token": widget.item["token"]}
        message |= {"client_key": uuid.uuid4().hex, "answer": {"label": "other"}}
        widget._on_action(widget, message, [])
        assert sent[-1]["ok"], sent[-1]
    assert normal_payload and honeypot_payload

    def shape(value):
        if isinstance(value, dict):
            return {key: shape(v) for key, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    assert shape(honeypot_payload) == shape(normal_payload)
    for key in ("answer", "suggested", "sensitive", "warnings", "editing", "lease_until"):
        if key in normal_payload and key != "lease_until":
            assert honeypot_payload[key] == normal_payload[key], key
    assert (honeypot_payload["lease_until"] is None) == (normal_payload["lease_until"] is None)
    # nothing anywhere in what the browser holds says gold or carries the explanation
    # (`standing` tells the annotator their own gold accuracy, by design: not which item;
    # `strings` is the interface's text catalogue, e.g. "my level, gold accuracy and exams":
    # the same for every item and checked equal below)
    hidden = ("_esm", "_css", "standing", "strings")
    assert widget.strings == project.label("someone-else").strings
    traits = {name: getattr(widget, name) for name in widget.trait_names(sync=True)}
    for text in (
        json.dumps(honeypot_payload, default=str),
        json.dumps({k: v for k, v in traits.items() if k not in hidden}, default=str),
    ):
        assert EXPLANATION not in text
        assert "gold" not in text.lower() and "honeypot" not in text.lower()
    assert honeypot_payload["answer"] == {} and honeypot_payload["suggested"] == []
    project.close()


def test_add_gold_later_takes_the_item_out_of_the_queue(tmp_path):
    project = make_project(tmp_path / "p", rate=0, normal=3, honeypots=0)
    assert project.progress()["items"] == 3
    project.add_gold("n1", {"label": "billing"}, "a charge", exam=None)
    assert project.progress()["items"] == 2 and project.progress()["gold_items"] == 5
    with project.store.reading() as conn:
        assert conn.execute(sa.select(items.c.gold).where(items.c.key == "n1")).scalar()
    assert project.store.gold_of(project.item("n1").id) | {"exam": None} == {
        "answer": {"label": "billing"},
        "explanation": "a charge",
        "exam": None,
    }
    import pytest

    from labelkit.errors import AnswerError

    with pytest.raises(AnswerError, match="'refund' is not one of the labels"):
        project.add_gold("n2", {"label": "refund"})
    assert [project.store.item(i).key for i in label_all(project, "ana")] == ["n0", "n2"]
    project.close()


def test_concurrent_annotators_get_honeypots_without_errors(tmp_path, db_url):
    project = make_project(tmp_path / "p", db_url, rate=0.3, normal=60, honeypots=10)
    project.close()
    results, errors = {}, []

    def worker(name):
        try:
            with Project.open(tmp_path / "p", db_url=db_url) as mine:
                results[name] = label_all(mine, name)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with Project.open(tmp_path / "p", db_url=db_url) as project:
        honeypots = gold_ids(project)
        normal = [i for served in results.values() for i in served if i not in honeypots]
        assert sorted(normal) == sorted(set(normal)) and len(normal) == 60
        for served in results.values():
            got = [i for i in served if i in honeypots]
            assert len(got) == len(set(got))
