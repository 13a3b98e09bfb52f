"""Pay: the ledger and payroll on a scripted week, against figures computed by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from labelkit import Project
from labelkit.cli import cli
from labelkit.errors import LabelkitError, ProjectError
from labelkit.pay import configure_pay, earnings, pay_rates, payroll, week_bounds
from labelkit.store.tables import annotations, annotators, reviews

WEEK = "2026-W48"  # Monday 23 to Sunday 29 November 2026


def at(day: int, hour: int, minute: int = 0) -> datetime:
    month = 11 if day > 15 else 12  # 22..30 November, 1.. December
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def week_project(tmp_path, db_url):
    project = Project.create(tmp_path / "p", "classification", db_url=db_url)
    rows = [{"id": f"i{n}", "text": f"ticket number {n}"} for n in range(1, 7)]
    project.import_items(rows_file(tmp_path, rows), id_column="id", progress=False)
    configure_pay(
        project,
        per_answer=0.10,
        per_hour=6.0,
        levels={2: {"per_answer": 0.20, "per_hour": 6.0}},
        idle_after_seconds=300,
        hourly_floor=9.0,
    )

    def answer(who, item, when, seconds, status="submitted"):
        question = project.schema.questions[0]
        label = {question.name: question.labels[0]}
        done = project.submit(
            item,
            label if status == "submitted" else None,
            annotator=who,
            status=status,
            duration_ms=seconds * 1000,
        )
        with project.store.writing() as conn:
            conn.execute(
                annotations.update().where(annotations.c.id == done.id).values(created_at=when)
            )
        return done.id

    def review(annotation_id, verdict):
        lead = project.store.annotator_id("lead", role="reviewer")
        with project.store.writing() as conn:
            conn.execute(
                reviews.insert().values(
                    annotation_id=annotation_id, reviewer_id=lead, verdict=verdict
                )
            )

    # ana, level 0: 3 answers this week (one rejected), an edit, a skip, and work on both sides
    # of the week. Active: 60 + 300 (900 s on one item is mostly idle) + 30 + 20 + 40 = 450 s.
    answer("ana", "i1", at(23, 10, 0), 60)
    answer("ana", "i2", at(23, 10, 2), 900)
    answer("ana", "i3", at(23, 10, 3), 30, status="skipped")
    answer("ana", "i1", at(24, 9, 0), 20)  # an edit: more time, not another answer
    review(answer("ana", "i4", at(24, 9, 1), 40), "rejected")
    answer("ana", "i5", at(22, 23, 59), 50)  # the week before
    answer("ana", "i6", at(30, 0, 0), 70)  # the week after (Monday 00:00 is not in W48)
    # bob, level 2: 2 answers this week; i5 was first answered the week before, edited now.
    first = answer("bob", "i1", at(25, 12, 0), 120)
    review(first, "rejected")
    review(first, "accepted")  # the newest verdict counts
    answer("bob", "i2", at(25, 12, 5), 180)
    answer("bob", "i5", at(22, 8, 0), 100)
    answer("bob", "i5", at(25, 13, 0), 60)
    with project.store.writing() as conn:
        conn.execute(annotators.update().where(annotators.c.name == "bob").values(level=2))
    yield project
    project.close()


def rows_file(tmp_path, rows):
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return path


def test_week_ledger_equals_hand_computed_figures(week_project):
    start, end = week_bounds(WEEK)
    ledger = earnings(week_project, start, end)
    assert set(ledger) == {"ana", "bob"}  # the reviewer did no labeling work

    ana = ledger["ana"]
    assert (ana.answers, ana.accepted, ana.rejected, ana.paid_answers) == (3, 0, 1, 2)
    assert ana.active_seconds == pytest.approx(450)
    # 2 paid answers x 0.10 + 0.125 h x 6.00
    assert ana.amount == pytest.approx(0.95)
    assert ana.hourly_rate == pytest.approx(7.6)

    bob = ledger["bob"]  # level 2 rates
    assert (bob.answers, bob.accepted, bob.rejected, bob.paid_answers) == (2, 1, 0, 2)
    assert bob.active_seconds == pytest.approx(360)
    assert bob.amount == pytest.approx(2 * 0.20 + 0.1 * 6.0)
    assert bob.hourly_rate == pytest.approx(10.0)


def test_payroll_flags_rates_under_the_floor(week_project):
    table = payroll(week_project, WEEK).set_index("annotator")
    assert table.loc["ana", "amount"] == pytest.approx(0.95)
    assert table.loc["ana", "active_hours"] == pytest.approx(0.125)
    assert bool(table.loc["ana", "below_floor"]) is True
    assert bool(table.loc["bob", "below_floor"]) is False
    assert table.loc["bob", "currency"] == "EUR"


def test_rejected_answers_are_paid_only_when_configured(week_project):
    configure_pay(week_project, pay_rejected=True)
    ana = earnings(week_project, *week_bounds(WEEK))["ana"]
    assert ana.paid_answers == 3
    assert ana.amount == pytest.approx(3 * 0.10 + 0.125 * 6.0)


def test_other_weeks_hold_the_work_done_then(week_project):
    before = payroll(week_project, "2026-W47").set_index("annotator")
    assert before.loc["ana", "answers"] == 1 and before.loc["bob", "answers"] == 1
    after = payroll(week_project, "2026-W49").set_index("annotator")
    assert list(after.index) == ["ana"] and after.loc["ana", "answers"] == 1


def test_rates_persist_and_bad_rates_are_refused(week_project):
    again = Project.open(week_project.path)  # the settings name the store, SQLite or not
    try:
        assert pay_rates(again).for_level(3).per_answer == 0.20  # from level 2 up
        assert pay_rates(again).for_level(1).per_answer == 0.10
    finally:
        again.close()
    with pytest.raises(ProjectError, match="per_answer"):
        configure_pay(week_project, per_answer=-1)
    with pytest.raises(LabelkitError, match="ISO week"):
        payroll(week_project, "last week")
    with pytest.raises(LabelkitError, match="not a week"):
        payroll(week_project, "2026-W54")


def test_payroll_cli_prints_warns_and_writes_csv(week_project, tmp_path):
    out = tmp_path / "payroll.csv"
    result = CliRunner().invoke(
        cli, ["payroll", str(week_project.path), "--week", WEEK, "--csv", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "ana" in result.stdout and "bob" in result.stdout
    assert "warning: ana's effective rate 7.6 EUR/h is under the floor of 9.0" in result.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("annotator,level,answers,accepted,rejected,paid_answers")
    assert len(lines) == 3

    bad = CliRunner().invoke(cli, ["payroll", str(week_project.path), "--week", "W48"])
    assert bad.exit_code == 2 and "ISO week" in bad.stderr

    changed = CliRunner().invoke(
        cli, ["pay", str(week_project.path), "--per-answer", "0.12", "--level-rate", "3:0.3:0"]
    )
    assert changed.exit_code == 0, changed.output
    rates = json.loads(changed.stdout)
    assert rates["per_answer"] == 0.12 and set(rates["levels"]) == {"2", "3"}


# ---------------------------------------------------------------------------- the annotator's day


def test_annotators_day_goal_streak_time_and_money(week_project):
    from labelkit.pay import annotator_day, daily_goal, set_daily_goal

    assert daily_goal(week_project, "ana") == 100  # nobody set one
    set_daily_goal(week_project, "ana", 1)
    # Tuesday 24th: ana reached 1 answer on Mon 23 (2 answers) and Tue 24 (i4): streak 2, and
    # the Sunday before (i5 on the 22nd) makes it 3.
    day = annotator_day(week_project, "ana", now=at(24, 18))
    assert (day.answers_today, day.daily_goal, day.streak_days) == (1, 1, 3)
    assert day.active_seconds_today == pytest.approx(60)  # the edit (20 s) and i4 (40 s)
    assert day.earned_today == pytest.approx(0 * 0.10 + 60 / 3600 * 6.0)  # i4 was rejected
    assert day.earned_week == pytest.approx(0.95)
    assert day.hourly_rate_week == pytest.approx(7.6)
    assert day.currency == "EUR"
    # Everyone's submitted items, newest 1000: 60 900 20 40 50 70 120 180 100 60 -> median 65 s
    assert day.median_item_seconds == pytest.approx(65)

    # Wednesday 25th, nothing yet today: the streak still counts up to yesterday.
    assert annotator_day(week_project, "ana", now=at(25, 8)).streak_days == 3
    # Thursday 26th: Wednesday was missed, the streak is broken.
    assert annotator_day(week_project, "ana", now=at(26, 8)).streak_days == 0

    set_daily_goal(week_project, "ana", None)  # back to the project's goal
    week_project.settings["daily_goal"] = 40
    assert daily_goal(week_project, "ana") == 40
    with pytest.raises(LabelkitError, match="daily goal"):
        set_daily_goal(week_project, "ana", 0)
