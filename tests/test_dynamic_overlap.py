"""Dynamic overlap: confident items stop at min, contested ones get more answers up to max.

The posterior rule is checked against values computed by hand; the assignment on SQLite and
PostgreSQL, in one process (exact sequences) and in several (exact final counts). Also here:
a suspension committed before an answer's transaction refuses the answer (issue 4).
"""

import json
import math
import multiprocessing
import random
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from labelkit import Project
from labelkit.errors import ProjectError
from labelkit.schema import LabelQuestion, Schema, TextField, TextQuestion
from labelkit.store.tables import annotations, gold_scores, items, majority_agreements
from labelkit.team.accounts import AccessDenied
from labelkit.team.overlap import (
    SETTLED,
    DynamicOverlap,
    accuracy,
    annotator_accuracy,
    posterior,
)

DYNAMIC = {"min": 2, "max": 5, "confidence": 0.7}


def make_project(tmp_path, db_url, n=1, schema="classification", **settings):
    project = Project.create(tmp_path / "p", schema, db_url=db_url, **settings)
    frame = pd.DataFrame({"id": [f"i{k}" for k in range(n)], "text": [f"t{k}" for k in range(n)]})
    project.import_items(frame, id_column="id", progress=False)
    return project


def answer(project, name, label):
    """`name` takes the next item and labels it; returns the item's key (None: nothing)."""
    item = project.next_item(name)
    if item is None:
        return None
    project.submit(item, {"label": label}, annotator=name)
    return item.key


def answer_count(project, key):
    with project.store.reading() as conn:
        return conn.execute(sa.select(items.c.answer_count).where(items.c.key == key)).scalar()


# ---------------------------------------------------------------------------- the rule


def test_accuracy_is_laplace_smoothed_with_k_one_half():
    assert accuracy(0, 0) == 0.5  # a newcomer
    assert accuracy(3, 4) == pytest.approx(3.5 / 5)
    assert accuracy(0, 4) == pytest.approx(0.5 / 5)


def test_posterior_against_hand_computed_values():
    # Two voters with q = 0.8 agree, two labels: 0.8^2 / (0.8^2 + 0.2^2).
    assert posterior([("a", 0.8), ("a", 0.8)], ["a", "b"])["a"] == pytest.approx(0.64 / 0.68)
    # Five labels, two newcomers agree: each error is 0.5 / 4 = 0.125.
    five = ["a", "b", "c", "d", "e"]
    assert posterior([("a", 0.5), ("a", 0.5)], five)["a"] == pytest.approx(0.25 / 0.3125)
    # Disagreement, three labels: a skilled voter (0.9) against a weaker one (0.6).
    # P(a) ~ 0.9 * 0.2 = 0.18, P(b) ~ 0.05 * 0.6 = 0.03, P(c) ~ 0.05 * 0.2 = 0.01.
    p = posterior([("a", 0.9), ("b", 0.6)], ["a", "b", "c"])
    assert (p["a"], p["b"], p["c"]) == pytest.approx((0.18 / 0.22, 0.03 / 0.22, 0.01 / 0.22))
    # No votes (or votes outside the labels): the uniform prior.
    assert posterior([("zzz", 0.9)], five) == pytest.approx(dict.fromkeys(five, 0.2))
    # Many voters do not underflow.
    many = posterior([("a", 0.6)] * 1500 + [("b", 0.6)] * 1400, ["a", "b"])
    assert math.isclose(sum(many.values()), 1.0) and many["a"] > 0.999


# ---------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "overlap, message",
    [
        ({"min": 3, "max": 2}, "max (2) must be at least min (3)"),
        ({"min": 0, "max": 2}, "min must be a whole number of at least 1"),
        ({"min": 2, "max": 5, "confidence": 1.5}, "between 0 and 1"),
        ({"min": 2, "max": 5, "confidence": "high"}, "between 0 and 1"),
        ({"min": 2, "max": 5, "confidance": 0.7}, "unknown setting ['confidance']"),
        ({"min": 2, "max": 5, "question": "nope"}, "'nope' is not a question"),
        ({"max": 5}, "min must be a whole number"),
        ("3", "must be a whole number or {min"),
        (True, "must be a whole number or {min"),
        (0, "at least 1"),
    ],
)
def test_invalid_overlap_settings_are_refused(tmp_path, overlap, message):
    with pytest.raises(ProjectError) as caught:
        Project.create(tmp_path / "p", "classification", overlap=overlap)
    assert message in str(caught.value)
    assert not (tmp_path / "p" / "project.yaml").exists()


def test_dynamic_overlap_needs_a_question_that_votes(tmp_path):
    notes = Schema(fields=[TextField(name="text")], questions=[TextQuestion(name="note")])
    with pytest.raises(ProjectError, match="needs a label question"):
        Project.create(tmp_path / "a", notes, overlap=DYNAMIC)
    with pytest.raises(ProjectError, match="'note' is a text question"):
        Project.create(tmp_path / "b", notes, overlap=DYNAMIC | {"question": "note"})


def test_settings_are_saved_fixed_form_still_works_and_bad_yaml_fails_on_open(tmp_path):
    with Project.create(tmp_path / "p", "classification", overlap=DYNAMIC) as project:
        rule = project.overlap_rule
        assert isinstance(rule, DynamicOverlap) and (rule.min, rule.max) == (2, 5)
        assert rule.question == "label" and len(rule.labels) == 5
        assert project.overlap == 5  # the most answers an item gets
        assert project.assignment_settings()["overlap"] == DYNAMIC
        assert project.configure(overlap={"min": 3, "max": 3})["overlap"] == 3  # = fixed 3
        assert project.overlap_rule == 3
        project.configure(overlap={"min": 1, "max": 3})  # confidence defaults to 0.7
    saved = yaml.safe_load((tmp_path / "p" / "project.yaml").read_text())
    assert saved["overlap"] == {"min": 1, "max": 3, "confidence": 0.7}
    saved["overlap"] = {"min": 2}
    (tmp_path / "p" / "project.yaml").write_text(yaml.safe_dump(saved))
    with pytest.raises(ProjectError, match="max must be a whole number"):
        Project.open(tmp_path / "p")


# ---------------------------------------------------------------------------- assignment


def test_confident_items_stop_at_min(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=3, overlap=DYNAMIC) as project:
        for name in ("ann", "bob"):
            assert [answer(project, name, "billing") for _ in range(3)] == ["i0", "i1", "i2"]
        # Two newcomers agree on one of five labels: posterior 0.8 >= 0.7, settled.
        assert project.next_item("cat") is None
        assert [answer_count(project, key) for key in ("i0", "i1", "i2")] == [2, 2, 2]
        progress = project.progress()
        assert (progress["complete"], progress["in_progress"]) == (3, 0)
        assert project.remaining() == 0


def test_contested_item_gets_answers_until_confident(tmp_path, db_url):
    with make_project(tmp_path, db_url, overlap=DYNAMIC) as project:
        answer(project, "a1", "billing")
        assert project.remaining() == 1
        answer(project, "a2", "account")  # 2 answers: min, but 0.36 < 0.7
        assert project.remaining() == 1 and project.progress()["complete"] == 0
        answer(project, "a3", "billing")  # billing 2:1 -> 0.6957, still below 0.7
        assert answer_count(project, "i0") == 3 and project.remaining() == 1
        assert answer(project, "a4", "billing") == "i0"  # 3:1 -> 0.90: settled at 4 of max 5
        assert project.next_item("a5") is None
        assert project.remaining() == 0 and project.progress()["complete"] == 1
        assert answer_count(project, "i0") == 4


def test_contested_item_goes_up_to_max_and_never_above(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=2, overlap=DYNAMIC) as project:
        labels = ["billing", "account", "other", "feedback", "technical issue"]
        for k, label in enumerate(labels):  # five different answers: never confident
            assert answer(project, f"a{k}", label) == "i0"
            if k < 2:  # agreement: i1 settles at 2
                assert answer(project, f"a{k}", "billing") == "i1"
        assert answer_count(project, "i0") == 5 and answer_count(project, "i1") == 2
        assert project.next_item("a5") is None  # max reached
        assert project.progress()["complete"] == 2 and project.remaining() == 0


def test_a_contested_item_is_leased_to_one_more_annotator_at_a_time(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=2, overlap=DYNAMIC) as project:
        assert project.next_item("a1").key == project.next_item("a2").key == "i0"  # 2 slots
        assert project.next_item("a3").key == "i1"  # i0's slots are taken
        project.submit("i0", {"label": "billing"}, annotator="a1")
        project.submit("i0", {"label": "account"}, annotator="a2")
        assert project.next_item("a4").key == "i0"  # contested: wants one more
        assert project.next_item("a5").key == "i1"  # ... only one more at a time


def test_agreement_with_settled_majorities_teaches_the_accuracy(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=2, overlap=DYNAMIC) as project:
        for name, label in [("a", "billing"), ("b", "other"), ("c", "billing")]:
            answer(project, name, label)  # i0: 1:1, then 2:1, not confident with newcomers
        assert not _agreements(project)
        answer(project, "d", "billing")  # 3:1: settled, a strict majority
        ids = {name: project.store.annotator_id(name) for name in "abcd"}
        assert _agreements(project) == sorted(
            [(ids["a"], True), (ids["b"], False), (ids["c"], True), (ids["d"], True)]
        )
        with project.store.reading() as conn:
            assert annotator_accuracy(conn, ids["a"]) == pytest.approx(1.5 / 2)
            assert annotator_accuracy(conn, ids["b"]) == pytest.approx(0.5 / 2)
        # Honeypot scores count too: (0.5 + 1 + 0.5) / (1 + 2) for a with one gold score 0.5.
        with project.store.writing() as conn:
            item_id = conn.execute(sa.select(items.c.id).where(items.c.key == "i1")).scalar()
            values = dict(item_id=item_id, annotator_id=ids["a"], version=1, status="submitted")
            values |= dict(answer={"label": "billing"}, client_key=uuid.uuid4().hex)
            annotation_id = conn.execute(
                annotations.insert().values(**values).returning(annotations.c.id)
            ).scalar()
            conn.execute(
                gold_scores.insert().values(
                    annotation_id=annotation_id, annotator_id=ids["a"], item_id=item_id, score=0.5
                )
            )
        with project.store.reading() as conn:
            assert annotator_accuracy(conn, ids["a"]) == pytest.approx(2.0 / 3)


def _agreements(project):
    with project.store.reading() as conn:
        query = sa.select(majority_agreements.c.annotator_id, majority_agreements.c.agreed)
        return sorted(conn.execute(query).all())


def test_a_trusted_annotator_outweighs_a_newcomer(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=4, overlap=DYNAMIC) as project:
        for _ in range(3):  # i0-i2 settle on agreement: q = (0.5 + 3) / (1 + 3) = 0.875
            answer(project, "old1", "billing")
            answer(project, "old2", "billing")
        answer(project, "old1", "billing")  # i3
        answer(project, "new", "account")  # 0.875 against 0.5: billing at 0.80, settled
        assert answer_count(project, "i3") == 2 and project.next_item("x") is None


def test_leaving_dynamic_overlap_puts_settled_items_back(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=2, overlap=DYNAMIC, order="random", seed=3) as p:
        for name in ("a", "b"):
            answer(p, name, "billing")
        settled = [key for key in ("i0", "i1") if answer_count(p, key) == 2]
        assert len(settled) == 1
        p.configure(overlap=3)
        with p.store.reading() as conn:
            keys = conn.execute(sa.select(items.c.order_key)).scalars().all()
        assert max(keys) < SETTLED
        assert p.next_item("c").key == settled[0]  # it wants its third answer now


def test_a_rejected_answer_stops_voting_and_its_item_asks_for_another(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=1, overlap=DYNAMIC) as project:
        answer(project, "ann", "billing")
        answer(project, "bob", "billing")  # two newcomers agree: 0.8 >= 0.7, settled
        assert project.next_item("cat") is None
        bobs = project.annotations().query("annotator == 'bob'")["id"].item()
        project.review.verdict(bobs, "accepted", reviewer="rita")
        assert project.next_item("cat") is None  # accepted: nothing changes
        project.review.verdict(bobs, "rejected", reviewer="rita", comment="not billing")
        # ann alone: 0.5 < 0.7 with 2 of max 5 answers: back in the queue for one more
        assert answer(project, "cat", "billing") == "i0"
        assert project.next_item("dan") is None  # ann and cat agree: settled again
        with project.store.reading() as conn:
            voters = set(conn.execute(sa.select(majority_agreements.c.annotator_id)).scalars())
        ids = {name: project.store.annotator_id(name) for name in ("ann", "bob", "cat")}
        assert voters == {ids["ann"], ids["cat"]}  # bob's rejected vote taught nothing


# ---------------------------------------------------------------------------- suspension


def test_an_answer_from_a_suspended_annotator_is_refused_in_the_transaction(tmp_path, db_url):
    with make_project(tmp_path, db_url, n=3) as project:
        project.annotators.add("ann")
        item = project.next_item("ann")  # the page shows it; then the lead suspends ann
        project.annotators.suspend("ann", reason="test")
        with pytest.raises(AccessDenied) as caught:
            project.submit_and_next(item, {"label": "billing"}, annotator="ann")
        assert caught.value.reason == "suspended"
        with pytest.raises(AccessDenied):
            project.submit(item, None, annotator="ann", status="skipped")
        assert project.annotations().empty  # nothing written


def test_a_suspension_waits_for_an_answer_already_being_written(tmp_path, db_url):
    """The answer's transaction holds the annotator's standing: a suspension that comes
    during it commits after it (on PostgreSQL by the row lock, on SQLite by the writer lock),
    so no answer is ever written after a suspension committed."""
    from labelkit.store.store import _ensure_active

    with make_project(tmp_path, db_url, n=3) as project:
        project.annotators.add("ann")
        annotator_id = project.store.annotator_id("ann")
        item = project.next_item("ann")
        suspended_at = []

        def suspend():
            with Project.open(tmp_path / "p", db_url=db_url) as lead:
                lead.annotators.suspend("ann", reason="test")
            suspended_at.append(time.monotonic())

        lead = threading.Thread(target=suspend)
        with project.store.writing() as conn:
            _ensure_active(conn, annotator_id)
            lead.start()
            time.sleep(1.0)  # the lead's suspension is under way meanwhile
            assert not suspended_at, "the suspension did not wait for the answer"
            committed_at = time.monotonic()
        lead.join(30)
        assert suspended_at and suspended_at[0] >= committed_at
        with pytest.raises(AccessDenied):
            project.submit(item, {"label": "billing"}, annotator="ann")


# ---------------------------------------------------------------------------- processes

PROCESSES = 8
EASY = HARD = 100
VOTED = {"min": 2, "max": 4, "confidence": 0.7}
DEADLINE = 240


def voting_schema() -> Schema:
    return Schema(
        fields=[TextField(name="text")],
        questions=[
            LabelQuestion(name="intent", labels=["a", "b", "c", "d"], required=False),
            TextQuestion(name="note", required=False),
        ],
    )


def annotate(folder: str, db_url, name: str, out: str) -> None:
    """One annotator process. Easy items: everyone says "a" (two newcomers agreeing on one of
    four labels: 0.75, settled at min, whatever their accuracy above 0.5). Hard items: the
    question is left empty (no vote: never confident, so they go to max)."""
    rng = random.Random(name)
    handed, written = [], []
    with Project.open(folder, db_url=db_url) as project:
        item, start = project.next_item(name), time.monotonic()
        while time.monotonic() - start < DEADLINE:
            if item is None:
                if project.progress()["complete"] == EASY + HARD:
                    break
                time.sleep(0.05)
                item = project.next_item(name)
                continue
            handed.append(item.key)
            status = "skipped" if rng.random() < 0.02 else "submitted"
            reply = {"intent": "a"} if item.key.startswith("e") else {"note": "unsure"}
            reply = reply if status == "submitted" else None
            annotation, item = project.submit_and_next(
                item, reply, annotator=name, status=status, client_key=uuid.uuid4().hex
            )
            written.append(annotation.id)
    Path(out).write_text(json.dumps({"handed": handed, "written": written}))


def test_several_processes_get_exact_dynamic_counts(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("LABELKIT_SQLITE_SYNCHRONOUS", "NORMAL")
    folder = tmp_path / "p"
    keys = [f"e{k:03d}" for k in range(EASY)] + [f"h{k:03d}" for k in range(HARD)]
    random.Random(1).shuffle(keys)
    frame = pd.DataFrame({"id": keys, "text": keys})
    with Project.create(folder, voting_schema(), db_url=db_url, overlap=VOTED) as project:
        project.import_items(frame, id_column="id", progress=False)
    names = [f"w{k}" for k in range(PROCESSES)]
    outs = [tmp_path / f"{name}.json" for name in names]
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=annotate, args=(str(folder), db_url, name, str(out)))
        for name, out in zip(names, outs, strict=True)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(DEADLINE + 60)
        if process.is_alive():
            process.kill()
    assert [p.exitcode for p in processes] == [0] * PROCESSES

    reports = [json.loads(out.read_text()) for out in outs]
    for report in reports:
        assert len(report["handed"]) == len(set(report["handed"]))  # never twice
    with Project.open(folder, db_url=db_url) as project:
        rows = project.annotations()
        progress = project.progress()
        remaining = project.remaining()
    assert sorted(rows["id"]) == sorted(i for r in reports for i in r["written"])
    assert not rows.duplicated(["item", "annotator"]).any()
    submitted = rows[rows["status"] == "submitted"].groupby("item")["annotator"].nunique()
    assert len(submitted) == EASY + HARD
    assert (submitted[[k for k in keys if k.startswith("e")]] == 2).all()  # confident at min
    assert (submitted[[k for k in keys if k.startswith("h")]] == 4).all()  # max, not above
    assert (progress["complete"], remaining) == (EASY + HARD, 0)
