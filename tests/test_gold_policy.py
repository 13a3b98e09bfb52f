"""The rules that move annotators: scripted annotators of known accuracy meet honeypots and
are promoted, sent to retry or suspended; fast answers; rejected work; the lead's changes."""

import math

import pandas as pd
import pytest
import sqlalchemy as sa

from labelkit import Project
from labelkit.store.tables import annotations, answer_flags, reviews

LABELS = ["billing", "technical issue", "account", "feedback", "other"]


def make_project(path, db_url=None, *, normal=300, level_one=40, honeypots=60, **quality):
    project = Project.create(path, "classification", db_url=db_url)
    rows = [{"id": f"n{i}", "text": f"message {i}", "level": 0} for i in range(normal)]
    rows += [{"id": f"h{i}", "text": f"harder {i}", "level": 1} for i in range(level_one)]
    rows += [
        {"id": f"q{i}", "text": f"question {i}", "level": 0, "gold": {"label": LABELS[i % 5]}}
        for i in range(honeypots)
    ]
    rows += [
        {
            "id": f"x{i}",
            "text": f"exam {i}",
            "level": 0,
            "gold": {"label": LABELS[i % 5]},
            "exam": "basics",
        }
        for i in range(5)
    ]
    project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    settings = {"honeypot_rate": 0.2, "seed": 7, "exams": {"basics": {"level": 0}}} | quality
    project.configure_quality(**settings)
    return project


def right_at(k: int, accuracy: float) -> bool:
    """The k-th gold answer (from 0) of an annotator of this accuracy, errors spread evenly."""
    return math.floor((k + 1) * accuracy + 0.5) - math.floor(k * accuracy + 0.5) == 1


def work(project, name, accuracy, max_items=200, duration_ms=None):
    """Label like a scripted annotator; returns (items served, gold answers given)."""
    served, gold_given = [], 0
    item = project.next_item(name)
    while item is not None and len(served) < max_items:
        served.append(item)
        gold = project.store.gold_of(item.id)
        label = "other"
        if gold is not None:
            wanted = gold["answer"]["label"]
            right = right_at(gold_given, accuracy)
            label = wanted if right else next(x for x in LABELS if x != wanted)
            gold_given += 1
        _, item = project.submit_and_next(
            item, {"label": label}, annotator=name, duration_ms=duration_ms
        )
    return served, gold_given


def test_scripted_annotators_are_promoted_sent_to_retry_or_suspended(tmp_path, db_url):
    project = make_project(tmp_path / "p", db_url, normal=80)
    for name in ("good", "middle", "bad"):
        project.annotators.add(name)

    served, gold_given = work(project, "middle", 0.75)
    standing = project.annotator_status("middle")
    assert standing["status"] == "retry" and standing["level"] == 0
    assert gold_given == 3  # within the window: the first min_count gold answers decide
    (event,) = project.annotator_history("middle")
    assert (event["kind"], event["old"], event["new"]) == ("status", "active", "retry")
    assert event["reason"] == (
        "gold accuracy 0.67 over the last 3 gold answers is under 0.80: "
        "pass the exam 'basics' again to get work back"
    )
    assert project.next_item("middle") is None  # retry: no work
    assert [e["name"] for e in project.exams("middle")] == ["basics"]
    assert "Pass the exam 'basics' again" in standing["next_level"]["requires"]

    served, gold_given = work(project, "bad", 0.4)
    standing = project.annotator_status("bad")
    assert standing["status"] == "suspended" and gold_given == 3
    (event,) = project.annotator_history("bad")
    assert (event["kind"], event["new"]) == ("status", "suspended")
    assert event["reason"] == "gold accuracy 0.33 over the last 3 gold answers is under 0.60"
    assert project.next_item("bad") is None
    assert project.exams("bad") == []
    served, gold_given = work(project, "good", 0.95, max_items=120)
    standing = project.annotator_status("good")
    assert standing["level"] == 1 and standing["status"] == "active"
    events = project.annotator_history("good")[::-1]  # oldest first
    promotion = events[0]
    assert (promotion["kind"], promotion["old"], promotion["new"]) == ("level", "0", "1")
    assert promotion["reason"] == (
        "gold accuracy 1.00 over the last 10 gold answers reached 0.90: promoted to level 1"
    )
    assert promotion["actor"] == "system"
    # never retried or suspended; a level-1 item came after the promotion
    assert {e["kind"] for e in events} <= {"level", "warning"}
    assert any(item.level == 1 for item in served)
    assert gold_given >= 10

    project.close()


def test_without_a_retry_exam_the_middle_band_is_a_warning_once_per_window(tmp_path):
    project = make_project(tmp_path / "p", exams={})
    project.annotators.add("middle")
    work(project, "middle", 0.75, max_items=40)
    events = project.annotator_history("middle")
    assert events and all(e["kind"] == "warning" for e in events)
    assert events[-1]["reason"] == (
        "gold accuracy 0.67 over the last 3 gold answers is under 0.80 "
        "(no retry exam is set for level 0)"
    )
    assert project.annotator_status("middle")["status"] == "active"
    project.close()


def test_promotion_offers_the_next_levels_exam_instead(tmp_path):
    project = make_project(tmp_path / "p", exams={"basics": {"level": 0}, "advanced": {"level": 1}})
    project.add_gold("n0", {"label": "billing"}, "billing: money", exam="advanced")
    project.annotators.add("good")
    work(project, "good", 1.0, max_items=120)
    standing = project.annotator_status("good")
    assert standing["level"] == 0 and standing["status"] == "active"
    offers = [e for e in project.annotator_history("good") if e["kind"] == "exam"]
    assert len(offers) == 1  # offered once, not at every gold answer
    assert offers[0]["reason"].endswith("take the exam 'advanced' to reach level 1")
    assert (
        "Pass the exam 'advanced' (80% needed) to reach level 1."
        in (standing["next_level"]["requires"])
    )
    assert [e["name"] for e in standing["exams"]] == ["basics", "advanced"]
    project.close()


def test_the_local_user_and_reviewers_are_scored_but_never_moved(tmp_path):
    project = make_project(tmp_path / "p", normal=80)
    project.annotators.add("rita", role="reviewer")
    for name in ("me", "rita"):  # "me": a notebook's local user, without an account
        work(project, name, 0.0, max_items=30)
        standing = project.annotator_status(name)
        assert standing["status"] == "active" and standing["gold"]["accuracy"] == 0.0
        assert project.annotator_history(name) == []
    project.close()


def test_only_the_first_answer_to_a_honeypot_counts(tmp_path):
    project = make_project(tmp_path / "p", honeypot_rate=0.5)
    served, _ = work(project, "ana", 1.0, max_items=30)
    honeypot = next(i for i in served if project.store.gold_of(i.id))
    before = project.annotator_status("ana")["gold"]
    project.submit(honeypot, {"label": "other"}, annotator="ana")  # an edit: a second version
    assert project.annotator_status("ana")["gold"] == before
    project.close()


def test_fast_answers_are_flagged_and_repeated_ones_suspend(tmp_path, db_url):
    project = make_project(
        tmp_path / "p",
        db_url,
        honeypot_rate=0,
        fast={"ratio": 0.5, "min_samples": 10, "suspend_after": 3, "window": 5},
    )
    for name in ("honest", "steady", "rusher"):
        project.annotators.add(name)
    work(project, "honest", 1.0, max_items=20, duration_ms=8_000)  # the median: 8 s
    served, _ = work(project, "steady", 1.0, max_items=5, duration_ms=5_000)  # not < 4 s
    served, _ = work(project, "rusher", 1.0, max_items=10, duration_ms=1_000)
    with project.store.reading() as conn:
        flags = conn.execute(sa.select(answer_flags)).all()
    assert len(flags) == 3 and {f.kind for f in flags} == {"fast"}
    assert flags[0].detail == {"duration_ms": 1000, "median_ms": 8000, "ratio": 0.5}
    assert len(served) == 3  # suspended at the third fast answer: nothing more to do
    standing = project.annotator_status("rusher")
    assert standing["status"] == "suspended" and standing["fast_flags"] == 3
    (event,) = project.annotator_history("rusher")
    assert event["reason"] == (
        "3 of the last 3 answers were faster than 50% of the usual time (8.0 s)"
    )
    assert project.annotator_status("steady")["status"] == "active"
    # resumed by the lead: earlier flags are forgiven, the history says who and why
    project.annotators.resume("rusher", reason="talked it through", actor="lead")
    assert project.annotator_history("rusher")[0] | {"at": None} == {
        "kind": "status",
        "old": "suspended",
        "new": "active",
        "reason": "talked it through",
        "actor": "lead",
        "at": None,
    }
    work(project, "rusher", 1.0, max_items=1, duration_ms=1_000)
    assert project.annotator_status("rusher")["status"] == "active"
    project.close()


def test_fast_checks_can_be_switched_off(tmp_path):
    project = make_project(tmp_path / "p", honeypot_rate=0, fast=None)
    project.annotators.add("rusher")
    work(project, "honest", 1.0, max_items=25, duration_ms=8_000)
    work(project, "rusher", 1.0, max_items=10, duration_ms=10)
    assert project.annotator_status("rusher")["status"] == "active"
    project.close()


def test_mostly_rejected_work_suspends(tmp_path, db_url):
    project = make_project(tmp_path / "p", db_url, honeypot_rate=0)
    project.annotators.add("ana")
    project.annotators.add("rita", role="reviewer")
    work(project, "ana", 1.0, max_items=8)
    rita = project.annotators.get("rita").id
    ana = project.annotators.get("ana").id
    with project.store.reading() as conn:
        ids = list(
            conn.execute(
                sa.select(annotations.c.id)
                .where(annotations.c.annotator_id == ana)
                .order_by(annotations.c.id)
            ).scalars()
        )

    def verdict(annotation_id, value):
        with project.store.writing() as conn:
            conn.execute(
                reviews.insert().values(
                    annotation_id=annotation_id, reviewer_id=rita, verdict=value
                )
            )
        return project.apply_review_rules("ana")

    assert verdict(ids[0], "rejected") == {"reviewed": 1, "rejected": 1, "suspended": False}
    assert verdict(ids[1], "rejected")["suspended"] is False  # under min_reviewed (4)
    assert verdict(ids[2], "accepted")["suspended"] is False
    assert verdict(ids[3], "accepted") == {"reviewed": 4, "rejected": 2, "suspended": False}
    # 2 of 4 is not over 50 %; a changed verdict counts as the newest one
    assert verdict(ids[3], "rejected") == {"reviewed": 4, "rejected": 3, "suspended": True}
    (event,) = project.annotator_history("ana")
    assert event["reason"] == "3 of 4 reviewed answers were rejected (75%), over 50%"
    assert project.annotators.get("ana").status == "suspended"
    project.close()


def test_the_leads_changes_are_in_the_history_with_actor_and_reason(tmp_path):
    project = make_project(tmp_path / "p", honeypot_rate=0)
    project.annotators.add("ana")
    project.annotators.update("ana", level=2, actor="lea")
    project.annotators.suspend("ana", reason="left the project", actor="lea")
    project.annotators.suspend("ana", actor="lea")  # no change: nothing recorded
    project.annotators.resume("ana")
    events = project.annotator_history("ana")
    assert [(e["kind"], e["old"], e["new"]) for e in events] == [
        ("status", "suspended", "active"),
        ("status", "active", "suspended"),
        ("level", "0", "2"),
    ]
    assert events[1]["reason"] == "left the project" and events[1]["actor"] == "lea"
    assert events[2]["reason"] == "level set to 2 by the project lead"
    assert events[0]["reason"] == "resumed by the project lead" and events[0]["actor"]
    project.close()


@pytest.mark.parametrize("status", ["retry"])
def test_a_retry_annotator_may_open_the_app_but_gets_no_work(tmp_path, status):
    from labelkit.team.accounts import Accounts

    project = make_project(tmp_path / "p", honeypot_rate=0)
    _, token = project.annotators.add("ana")
    with project.store.writing() as conn:
        from labelkit.gold import history

        history.change(conn, project.annotators.get("ana").id, "test", status=status)
    accounts = Accounts(project.store)
    assert accounts.resolve(token).name == "ana"  # the link still opens the app
    accounts.ensure_active(project.annotators.get("ana").id)
    assert project.next_item("ana") is None
    project.close()
