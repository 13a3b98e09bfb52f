"""Wellbeing: opted-out categories are never served, exposure limits hold, moderation answers
flag items, the lead sees everyone's exposure. On SQLite and on a real PostgreSQL server.

Time moves on by moving the answers and exposures back (their created_at, written by the
database): the windows are wall-clock windows on exposures.created_at (see labelkit.wellbeing).
"""

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from labelkit import Project
from labelkit.cli import cli
from labelkit.errors import ProjectError
from labelkit.store.tables import annotations, exposures
from labelkit.wellbeing import (
    configure_wellbeing,
    exposure,
    flag_from_answer,
    known_categories,
    set_opt_outs,
)

ANSWER = {"label": "billing"}


def make_project(tmp_path, db_url, warnings, schema="classification", overlap=1):
    """One item per entry of `warnings` (None: not sensitive), in that order."""
    project = Project.create(tmp_path / "p", schema, db_url=db_url, overlap=overlap)
    field = project.schema.fields[0].name
    frame = pd.DataFrame(
        {
            "id": [f"i{k:02d}" for k in range(len(warnings))],
            field: [f"text {k}" for k in range(len(warnings))],
            "warnings": [",".join(w) if w else "" for w in warnings],
        }
    )
    project.import_items(frame, id_column="id", progress=False)
    return project


def label_all(project, name, answer=ANSWER) -> list:
    """Label until nothing is left for `name`; the items in the order they were handed out."""
    served = []
    item = project.next_item(name)
    while item is not None:
        served.append(item)
        _, item = project.submit_and_next(item, answer, annotator=name)
    return served


def move_back(project, name, delta: timedelta) -> None:
    """Make `name`'s answers and exposures older by `delta`, as if that much time had passed."""
    annotator_id = project.store.annotator_id(name)
    with project.store.writing() as conn:
        for exposed in conn.execute(
            sa.select(exposures).where(exposures.c.annotator_id == annotator_id)
        ).all():
            conn.execute(
                exposures.update()
                .where(
                    exposures.c.annotator_id == annotator_id,
                    exposures.c.item_id == exposed.item_id,
                )
                .values(created_at=exposed.created_at - delta)
            )
        rows = conn.execute(
            sa.select(annotations.c.id, annotations.c.created_at).where(
                annotations.c.annotator_id == annotator_id
            )
        ).all()
        for row in rows:
            conn.execute(
                annotations.update()
                .where(annotations.c.id == row.id)
                .values(created_at=row.created_at - delta)
            )


def is_sensitive(item) -> bool:
    return bool(item.sensitive)


# ---------------------------------------------------------------------------- opt-outs


def test_opted_out_categories_are_never_served(tmp_path, db_url):
    warnings = [
        ["violence"],
        None,
        ["hate", "violence"],
        ["hate"],
        ["self_harm"],
        ["selfxharm"],  # "_" is a LIKE wildcard: must not match the opt-out "self_harm"
        ["100%"],
        ["100x"],  # "%" too
        ["violence/graphic"],  # another category, not "violence"
    ]
    with make_project(tmp_path, db_url, warnings, overlap=2) as project:
        set_opt_outs(project, "ana", "Violence, self_harm, 100%")
        served = label_all(project, "ana")
        served_warnings = [list(item.warnings or []) for item in served]
        assert served_warnings == [[], ["hate"], ["selfxharm"], ["100x"], ["violence/graphic"]]
        # others are served everything; the imported warnings make items sensitive
        bob = sorted(label_all(project, "bob"), key=lambda item: item.key)
        assert len(bob) == len(warnings)
        assert [is_sensitive(i) for i in bob] == [w is not None for w in warnings]
        assert known_categories(project) == sorted(
            {"violence", "hate", "self_harm", "selfxharm", "100%", "100x", "violence/graphic"}
        )


def test_lead_sets_opt_outs_and_locale_from_the_command_line(tmp_path):
    path = tmp_path / "p"
    with make_project(tmp_path, None, [["violence"], None, ["self-harm"]]) as project:
        project.annotators.add("ana")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["annotators", "update", str(path), "ana", "--opt-out", "violence,self-harm"],
    )
    assert result.exit_code == 0, result.output
    assert "opt-outs: self-harm,violence" in result.output
    result = runner.invoke(cli, ["annotators", "update", str(path), "ana", "--locale", "fr"])
    assert result.exit_code == 0 and "locale: fr" in result.output
    result = runner.invoke(cli, ["annotators", "update", str(path), "ana", "--locale", "xx"])
    assert result.exit_code != 0 and "unknown locale 'xx'" in result.output
    result = runner.invoke(cli, ["annotators", "add", str(path), "bob", "--locale", "FR"])
    assert result.exit_code == 0, result.output
    with Project.open(path) as project:
        assert project.annotators.get("ana").opt_outs == ["self-harm", "violence"]
        assert project.annotators.get("ana").locale == "fr"
        assert project.annotators.get("bob").locale == "fr"
        assert [item.key for item in label_all(project, "ana")] == ["i01"]
    result = runner.invoke(cli, ["annotators", "update", str(path), "ana", "--opt-out", "none"])
    assert result.exit_code == 0 and "opt-outs: none" in result.output


# ---------------------------------------------------------------------------- limits


def test_hourly_and_daily_limits_are_never_exceeded(tmp_path, db_url):
    # 12 sensitive items first, then 3 plain ones: the order would serve sensitive ones first.
    warnings = [["violence"]] * 12 + [None] * 3
    with make_project(tmp_path, db_url, warnings) as project:
        configure_wellbeing(project, sensitive_per_hour=2, sensitive_per_day=3)
        first = label_all(project, "ana")
        # 2 sensitive, then only plain ones, then nothing: the hourly limit holds
        assert [is_sensitive(i) for i in first] == [True, True, False, False, False]
        assert exposure(project)[0].limited == "hour"

        move_back(project, "ana", timedelta(minutes=61))  # an hour later
        assert [is_sensitive(i) for i in label_all(project, "ana")] == [True]  # 3 in 24 h
        assert exposure(project)[0].limited == "day"
        move_back(project, "ana", timedelta(hours=12))  # still within 24 hours of the first
        assert label_all(project, "ana") == []

        move_back(project, "ana", timedelta(hours=12, minutes=1))  # a day after the third
        again = label_all(project, "ana")
        assert [is_sensitive(i) for i in again] == [True, True]  # the hourly limit again
        seen = {e.annotator: e for e in exposure(project)}["ana"]
        assert (seen.sensitive_hour, seen.sensitive_day, seen.sensitive_week) == (2, 2, 5)
        assert seen.limited == "hour"


def test_a_streak_of_sensitive_items_is_broken_by_a_plain_one(tmp_path, db_url):
    warnings = [["violence"]] * 5 + [None] * 2
    with make_project(tmp_path, db_url, warnings) as project:
        configure_wellbeing(project, streak_break=2)
        served = [is_sensitive(i) for i in label_all(project, "ana")]
        assert served == [True, True, False, True, True, False, True]


def test_skips_and_reports_count_as_exposure(tmp_path, db_url):
    with make_project(tmp_path, db_url, [["violence"]] * 4 + [None]) as project:
        configure_wellbeing(project, sensitive_per_hour=2)
        item = project.next_item("ana")
        _, item = project.submit_and_next(item, annotator="ana", status="skipped")
        _, item = project.submit_and_next(item, annotator="ana", status="reported", comment="x")
        assert item.key == "i04"  # the plain one: 2 sensitive items were shown


def test_bad_wellbeing_settings_are_refused(tmp_path):
    with make_project(tmp_path, None, [None]) as project:
        with pytest.raises(ProjectError, match="sensitive_per_hour"):
            configure_wellbeing(project, sensitive_per_hour=-1)
        with pytest.raises(ProjectError, match="support_link"):
            configure_wellbeing(project, support_link="javascript:alert(1)")
        configure_wellbeing(project, support_link="https://example.org/help")
    (tmp_path / "p" / "project.yaml").write_text(
        (tmp_path / "p" / "project.yaml").read_text() + "wellbeing: {streak_break: zero}\n"
    )
    with pytest.raises(ProjectError, match="invalid wellbeing settings"):
        Project.open(tmp_path / "p")


# ---------------------------------------------------------------------------- flags


def test_reports_and_moderation_answers_mark_items_sensitive(tmp_path, db_url):
    with make_project(tmp_path, db_url, [None, None, None], schema="moderation") as project:
        first, second, third = (project.item(f"i0{k}") for k in range(3))
        assert flag_from_answer(project, first.id, "reported", None) == ["reported"]
        harmful = {"categories": ["violence/graphic", "hate/threatening"], "severity": "high"}
        assert flag_from_answer(project, second.id, "submitted", harmful) == ["hate", "violence"]
        fine = {"categories": [], "severity": "none"}
        assert flag_from_answer(project, third.id, "submitted", fine) == []
        assert project.item("i00").warnings == ["reported"] and project.item("i00").sensitive
        assert project.item("i01").warnings == ["hate", "violence"]
        assert not project.item("i02").sensitive
        # an annotator who opted out of violence no longer gets the flagged item
        set_opt_outs(project, "cy", ["violence"])
        fine |= {"action": "allow"}
        assert [i.key for i in label_all(project, "cy", fine)] == ["i00", "i02"]


def test_an_item_flagged_later_counts_for_whoever_saw_it_and_each_person_once(tmp_path, db_url):
    with make_project(tmp_path, db_url, [None, None], overlap=3) as project:
        item = project.item("i00")
        project.submit(item, ANSWER, annotator="ana")
        project.submit(item, None, annotator="bo", status="reported", comment="graphic")
        assert flag_from_answer(project, item.id, "reported", None) == ["reported"]
        project.submit(item, {"label": "other"}, annotator="ana")  # an edit: still one item
        project.submit(item, ANSWER, annotator="cy")  # shown it after the flag
        seen = {e.annotator: e.sensitive_day for e in exposure(project)}
        assert seen == {"ana": 1, "bo": 1, "cy": 1}
