"""Review and escalation (labelkit.review) on a real store, SQLite and PostgreSQL: the queue's
modes, verdicts, and what a rejection or a resolution changes in consensus and exports."""

from __future__ import annotations

import pandas as pd
import pytest

from labelkit import Project
from labelkit.errors import AnswerError
from labelkit.quality.item_agreement import item_agreement
from labelkit.review import ReviewError
from labelkit.schema import Schema

LABELS = ["billing", "technical issue", "account", "feedback", "other"]


@pytest.fixture
def project(tmp_path, db_url):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url, overlap=3)
    rows = [{"id": f"t{i}", "text": f"message {i}"} for i in range(6)]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    yield project
    project.close()


def answer(project, item, annotator, label):
    return project.submit(item, {"label": label}, annotator=annotator)


def team_answers(project):
    """t0: all agree; t1: 2 of 3; t2: all differ; t3: one answer; t4 escalated by cy."""
    plan = {
        "t0": {"ana": "billing", "bo": "billing", "cy": "billing"},
        "t1": {"ana": "billing", "bo": "billing", "cy": "account"},
        "t2": {"ana": "billing", "bo": "account", "cy": "other"},
        "t3": {"ana": "feedback"},
        "t4": {"ana": "billing", "bo": "billing"},
    }
    ids = {}
    for item, given in plan.items():
        for annotator, label in given.items():
            ids[item, annotator] = answer(project, item, annotator, label).id
    project.submit("t4", annotator="cy", status="escalated", comment="is this spam?")
    return ids


def test_queue_modes(project):
    ids = team_answers(project)
    review = project.review
    everything = set(ids.values())

    sampled = review.queue("sampled", seed=7)
    assert {p.annotation_id for p in sampled} == everything
    assert [p.annotation_id for p in review.queue("sampled", seed=7)] == [
        p.annotation_id for p in sampled
    ]  # the same seed, the same order
    assert [p.annotation_id for p in review.queue("sampled", seed=8)] != [
        p.annotation_id for p in sampled
    ]
    assert len(review.queue("sampled", seed=7, limit=3)) == 3

    low = review.queue("low_agreement")
    items = [project.store.item(p.item_id).key for p in low]
    assert items[:3] == ["t2"] * 3  # all differ: first
    assert items[3:6] == ["t1"] * 3
    assert items[-1] == "t3"  # one answer: nothing to disagree with, last
    assert low[0].agreement == pytest.approx(1 / 3)
    assert low[-1].agreement is None

    bo = review.queue("annotator", annotator="bo")
    assert {p.annotator for p in bo} == {"bo"}
    assert [p.annotation_id for p in bo] == sorted(p.annotation_id for p in bo)  # oldest first

    mine = review.queue("sampled", reviewer="ana")
    assert "ana" not in {p.annotator for p in mine}


def test_queue_has_only_current_unreviewed_submitted_answers(project):
    ids = team_answers(project)
    review = project.review
    review.accept(ids["t0", "ana"], reviewer="rita")
    edited = answer(project, "t1", "bo", "account")  # a new version supersedes the old one
    queued = {p.annotation_id for p in review.queue("sampled")}
    assert ids["t0", "ana"] not in queued  # reviewed
    assert ids["t1", "bo"] not in queued and edited.id in queued  # only the current version
    statuses = {review.answer(i)["status"] for i in queued}
    assert statuses == {"submitted"}  # the escalation is not an answer to review


def test_bad_review_requests(project):
    ids = team_answers(project)
    review = project.review
    with pytest.raises(ReviewError, match="own answers"):
        review.accept(ids["t0", "ana"], reviewer="ana")
    with pytest.raises(ReviewError, match="say why"):
        review.verdict(ids["t0", "bo"], "rejected", reviewer="rita", comment="  ")
    with pytest.raises(ReviewError, match="accepted' or 'rejected"):
        review.verdict(ids["t0", "bo"], "maybe", reviewer="rita")
    with pytest.raises(ReviewError, match="unknown answer"):
        review.accept(999_999, reviewer="rita")
    with pytest.raises(ReviewError, match="unknown review mode"):
        review.queue("everything")
    with pytest.raises(ReviewError, match="needs annotator"):
        review.queue("annotator")
    with pytest.raises(ReviewError, match="unknown annotator"):
        review.queue("annotator", annotator="nobody")
    escalation = project.annotations().query("status == 'escalated'")["id"].iloc[0]
    with pytest.raises(ReviewError, match="only submitted"):
        review.accept(int(escalation), reviewer="rita")
    with project.store.reading() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM reviews").scalar() == 0


def test_newest_verdict_counts(project):
    ids = team_answers(project)
    review = project.review
    target = ids["t2", "cy"]
    review.reject(target, reviewer="rita", comment="not what the text says")
    assert review.answer(target)["verdict"] == "rejected"
    review.accept(target, reviewer="ray", comment="on second look, fine")
    assert review.answer(target)["verdict"] == "accepted"
    table = project.consensus()
    assert table.set_index("item").loc["t2", "n"] == 3  # counted again


def test_a_rejection_leaves_consensus_and_exports(project):
    ids = team_answers(project)
    before = project.consensus().set_index("item")
    assert before.loc["t1", "value"] == "billing" and before.loc["t1", "n"] == 3
    raw = project.to_dataset("raw").to_pandas().set_index("item_id")  # built and cached
    assert len(raw.loc["t1", "label.responses.users"]) == 3

    review = project.review
    review.reject(ids["t1", "ana"], reviewer="rita", comment="it is about the account")
    review.reject(ids["t1", "bo"], reviewer="rita", comment="it is about the account")
    review.accept(ids["t1", "cy"], reviewer="rita")

    after = project.consensus().set_index("item")
    assert after.loc["t1", "value"] == "account" and after.loc["t1", "n"] == 1
    raw = project.to_dataset("raw").to_pandas().set_index("item_id")
    assert list(raw.loc["t1", "label.responses.users"]) == ["cy"]
    assert list(raw.loc["t1", "label.responses"]) == [LABELS.index("account")]  # ClassLabel
    consensus = project.to_dataset("consensus").to_pandas().set_index("item_id")
    assert consensus.loc["t1", "label"] == LABELS.index("account")  # a ClassLabel
    assert consensus.loc["t1", "label_n"] == 1
    # still there for whoever asks for them
    kept = project.to_dataset("raw", include_rejected=True).to_pandas().set_index("item_id")
    assert sorted(kept.loc["t1", "label.responses.status"]) == [
        "rejected",
        "rejected",
        "submitted",
    ]
    assert project.agreement() is not None


def test_escalation_queue_and_resolution(project):
    team_answers(project)
    project.submit("t5", annotator="bo", status="escalated", comment="empty message")
    review = project.review
    queue = review.escalations()
    assert [e.item for e in queue] == ["t4", "t5"]
    assert queue[0].reasons[0]["annotator"] == "cy"
    assert queue[0].reasons[0]["reason"] == "is this spam?"
    assert not queue[0].resolved

    with pytest.raises(AnswerError, match="not one of"):
        review.resolve("t4", {"label": "spam"}, reviewer="rita")
    review.resolve("t4", {"label": "other"}, reviewer="rita", comment="spam goes to other")
    queue = review.escalations()
    assert [e.item for e in queue] == ["t5", "t4"]  # unresolved first
    assert queue[1].resolution["answer"] == {"label": "other"}
    assert queue[1].resolution["reviewer"] == "rita"

    table = project.consensus().set_index("item")
    assert table.loc["t4", "value"] == "other"  # the annotators said billing
    assert table.loc["t4", "confidence"] == 1.0
    assert table.loc["t4", "n"] == 2

    review.resolve("t5", {"label": "feedback"}, reviewer="rita")  # nobody answered it
    review.resolve("t4", {"label": "account"}, reviewer="ray")  # the newest counts
    table = project.consensus().set_index("item")
    assert table.loc["t5", "value"] == "feedback" and table.loc["t5", "n"] == 0
    assert table.loc["t4", "value"] == "account"
    exported = project.to_dataset("consensus").to_pandas().set_index("item_id")
    assert exported.loc["t4", "label"] == LABELS.index("account")
    assert exported.loc["t4", "label_confidence"] == 1.0
    assert exported.loc["t5", "label"] == LABELS.index("feedback")
    assert exported.loc["t0", "label"] == LABELS.index("billing")  # others unchanged


def labels_everything(project, annotator):
    """What `annotator` is handed, answering each, until there is nothing left for them."""
    served = []
    while (item := project.next_item(annotator)) is not None:
        served.append(item.key)
        answer(project, item, annotator, "other")
    return served


def test_a_resolved_item_is_no_longer_handed_out(project):
    """Once a reviewer gives an escalated item its final answer, nobody is asked again: it
    is complete in the progress figures, the remaining count and after overlap changes."""
    team_answers(project)  # overlap 3: t0-t2 complete, t3 one answer, t4 two, t5 none
    assert project.remaining() == 3
    held = project.next_item("eve")  # leased to eve, then resolved under her
    assert held.key in {"t3", "t4", "t5"}
    resolved = {"t4", "t5", held.key}
    for key in sorted(resolved):
        project.review.resolve(key, {"label": "account"}, reviewer="rita")
    left = {"t3", "t4", "t5"} - resolved
    assert project.remaining() == len(left)
    progress = project.progress()
    assert progress["complete"] == 3 + len(resolved)
    assert progress["not_started"] == 0  # t5 had no answer: resolved, it is complete
    assert progress["in_progress"] == len(left)
    assert set(labels_everything(project, "eve")) == left
    # Leaving dynamic overlap puts its settled items back in the queue, not resolved ones.
    project.configure(overlap={"min": 2, "max": 3})
    project.configure(overlap=3)
    assert labels_everything(project, "dee") == sorted(left)
    assert project.remaining() == 0 and project.progress()["complete"] == 6
    assert project.consensus().set_index("item").loc["t5", "value"] == "account"


def test_item_agreement_is_the_dashboards_rule():
    """Per question answered twice or more (free text aside), the share giving the most common
    value; a preference by its choice, labels whatever their order."""
    schema = Schema.from_dict(
        {
            "fields": [{"type": "text", "name": "a"}, {"type": "text", "name": "b"}],
            "questions": [
                {"type": "label", "name": "topic", "labels": ["x", "y"]},
                {"type": "multi_label", "name": "tags", "labels": ["p", "q"]},
                {"type": "preference", "name": "better", "options": ["a", "b"],
                 "strengths": ["slightly", "much"]},
                {"type": "text", "name": "note", "required": False},
            ],
        }
    )  # fmt: skip
    rows = [
        (1, "ana", {"topic": "x", "tags": ["p", "q"], "better": {"choice": "a", "strength": "much"},
                    "note": "one"}),
        (1, "bo", {"topic": "y", "tags": ["q", "p"], "better": {"choice": "a",
                   "strength": "slightly"}, "note": "two"}),
        (2, "ana", {"topic": "x"}),
        (2, "bo", {"topic": "x"}),
        (3, "ana", {"topic": "y"}),
    ]  # fmt: skip
    found = item_agreement(pd.DataFrame(rows, columns=["item_id", "annotator", "answer"]), schema)
    # item 1: topic 1/2, tags 2/2, better 2/2 (by choice), note left out -> 5/6; item 3: alone
    assert found.to_dict("records") == [
        {"item_id": 1, "answers": 2, "agreement": pytest.approx(5 / 6)},
        {"item_id": 2, "answers": 2, "agreement": 1.0},
    ]


def test_rejections_go_through_the_review_rules(project):
    """After each verdict the quality rules run (labelkit.gold.policy.apply_review_rules): by
    default more than half of at least 4 reviewed answers rejected suspends the annotator.
    The rules move team accounts only (names without an access link are never suspended)."""
    for name in ("ana", "bo", "cy"):
        project.annotators.add(name)
    ids = team_answers(project)
    review = project.review
    for item in ("t0", "t1", "t2"):
        done = review.reject(ids[item, "ana"], reviewer="rita", comment="wrong")
        assert done.rules_error is None
    assert project.annotators.get("ana").status == "active"  # 3 reviewed: too few to judge
    done = review.reject(ids["t3", "ana"], reviewer="rita", comment="wrong")
    assert done.rules == {"reviewed": 4, "rejected": 4, "suspended": True}
    assert project.annotators.get("ana").status == "suspended"
    assert review.accept(ids["t0", "bo"], reviewer="rita").rules["suspended"] is False
