"""The team dashboard's figures on a project labeled by a simulated crowd equal the same figures
computed independently from what the crowd answered (plain Python, the krippendorff package),
`labelkit stats --json` prints exactly them, and the app shows them only to admins."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest

from labelkit import Project
from labelkit.dashboard import plots
from labelkit.dashboard.app import (
    Dashboard,
    admin_check,
    dashboard_app,
    drilldown_html,
    leaderboard_html,
    refresh_interval,
)
from labelkit.dashboard.figures import project_figures
from labelkit.errors import LabelkitError
from labelkit.pay.ledger import week_bounds
from labelkit.team.accounts import AccessDenied
from labelkit.ui.app import HOST_VARIABLE

from .simulated_team import PER_ANSWER, simulated_team


def click_without_a_loop(button) -> None:
    """Click as in a plain script: the refresh then runs at once. (In this test process another
    test's Playwright may own a running event loop, where the click would only schedule it.)"""
    clicking = threading.Thread(target=button.click)
    clicking.start()
    clicking.join()


LABELKIT = str(Path(sys.executable).with_name("labelkit"))


@pytest.fixture
def team(tmp_path, db_url):
    team = simulated_team(tmp_path / "team", db_url)
    yield team
    team.project.close()


def majority(values: list[str], labels: list[str]) -> str:
    """The most common label; a tie goes to the first in the schema's order."""
    counts = Counter(values)
    best = max(counts.values())
    return next(label for label in labels if counts.get(label) == best)


def test_progress_and_per_annotator_figures_equal_the_crowd(team):
    figures = project_figures(team.project)
    n_items = len({key for key, _ in team.answers}) + len(team.unanswered)
    per_item = Counter(key for key, _ in team.answers)
    overlap = team.project.overlap
    assert figures["items"] == n_items
    assert figures["complete"] == sum(n >= overlap for n in per_item.values())
    assert figures["in_progress"] == sum(0 < n < overlap for n in per_item.values())
    assert figures["not_started"] == len(team.unanswered) == 4
    assert figures["answers_per_question"] == {"label": len(team.answers)}

    by_item: dict[str, list[str]] = {}
    for (key, _), label in team.answers.items():
        by_item.setdefault(key, []).append(label)
    winners = {
        key: majority(values, team.labels) for key, values in by_item.items() if len(values) >= 2
    }
    people = {p["annotator"]: p for p in figures["per_annotator"]}
    names = sorted({name for _, name in team.answers})
    assert sorted(people) == names
    now = datetime.now(UTC)
    iso = now.isocalendar()
    week_start, _ = week_bounds(f"{iso.year}-W{iso.week:02d}")
    for name in names:
        mine = {key: label for (key, who), label in team.answers.items() if who == name}
        person = people[name]
        assert person["answers"] == len(mine)
        seconds = [team.durations[(key, name)] / 1000 for key in mine]
        assert person["median_seconds"] == pytest.approx(statistics.median(seconds), abs=1e-4)
        compared = [key for key in mine if key in winners]
        agreed = sum(mine[key] == winners[key] for key in compared)
        assert person["compared_answers"] == len(compared)
        assert person["agreement_with_consensus"] == pytest.approx(agreed / len(compared), 1e-3)
        scores = team.gold.get(name, [])
        assert person["gold_answers"] == len(scores)
        assert person["gold_score"] == (
            pytest.approx(statistics.fmean(scores), abs=1e-4) if scores else None
        )
        assert (person["level"], person["status"], person["role"]) == (0, "active", "annotator")
        # Paid per item answered this week, at its first version (an edit is not paid again).
        first = {key: min(times) for key, times in answered(team, name).items()}
        assert person["currency"] == "EUR"
        assert person["earned_week"] == pytest.approx(
            PER_ANSWER * sum(moment >= week_start for moment in first.values()), abs=1e-6
        )
        # Sensitive items first seen in the last hour, 24 hours, 7 days (labelkit.wellbeing).
        sensitive = [times for key, times in answered(team, name).items() if key in team.sensitive]
        hour_ago = now - timedelta(hours=1)
        assert person["sensitive_hour"] == sum(min(times) > hour_ago for times in sensitive)
        assert person["sensitive_day"] == person["sensitive_week"] == len(sensitive)
        assert (person["opt_outs"], person["exposure_limit"]) == ([], None)
    assert sum(p["sensitive_week"] for p in people.values()) > 0
    # Someone who answers like the majority agrees more with it than the crowd's worst.
    agreement = [p["agreement_with_consensus"] for p in people.values()]
    assert max(agreement) > min(agreement)


def answered(team, name: str) -> dict[str, list[datetime]]:
    """item key -> when `name` answered it, every version (the times the team was given)."""
    table = team.project.annotations()
    mine = table[(table["annotator"] == name) & (table["status"] == "submitted")]
    return {key: [team.moments[i] for i in rows["id"]] for key, rows in mine.groupby("item")}


def test_agreement_distributions_and_disagreements_equal_independent_values(team):
    figures = project_figures(team.project)
    by_item: dict[str, dict[str, str]] = {}
    for (key, name), label in team.answers.items():
        by_item.setdefault(key, {})[name] = label

    # Krippendorff's alpha (nominal) from the krippendorff package on the reliability matrix.
    names = sorted({name for _, name in team.answers})
    keys = sorted(by_item)
    code = {label: i for i, label in enumerate(team.labels)}
    matrix = np.full((len(names), len(keys)), np.nan)
    for j, key in enumerate(keys):
        for name, label in by_item[key].items():
            matrix[names.index(name), j] = code[label]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    found = figures["agreement"]["label"]
    assert found["measure"] == "Krippendorff's alpha (nominal)"
    assert found["value"] == found["alpha"] == pytest.approx(expected, abs=1e-4)
    assert found["items"] == sum(len(v) >= 2 for v in by_item.values())
    assert found["answers"] == len(team.answers)

    counts = Counter(team.answers.values())
    assert figures["distributions"] == {
        "label": [[label, counts[label]] for label in team.labels if counts[label]]
    }

    # The disagreement list: lowest share of the most common answer first.
    shares = {
        key: max(Counter(v.values()).values()) / len(v) for key, v in by_item.items() if len(v) > 1
    }
    listed = figures["disagreements"]
    assert len(listed) == 20
    assert [row["agreement"] for row in listed] == pytest.approx(sorted(shares.values())[:20])
    for row in listed:
        assert row["agreement"] == pytest.approx(shares[row["item"]], abs=1e-4)
        assert row["answers"] == len(by_item[row["item"]])
        assert row["fields"]["text"].startswith(f"ticket {row['item']}: <script>")
        assert {r["annotator"]: r["answer"]["label"] for r in row["responses"]} == by_item[
            row["item"]
        ]


def test_throughput_counts_every_submit_per_hour(team):
    now = datetime.now(UTC)
    figures = project_figures(team.project, now=now)
    throughput = figures["throughput"]
    assert throughput["unit"] == "hour"
    hours = Counter(
        moment.replace(minute=0, second=0, microsecond=0) for moment in team.moments.values()
    )
    shown = {datetime.fromisoformat(start): n for start, n in throughput["periods"]}
    assert {t: n for t, n in shown.items() if n} == hours
    assert sum(shown.values()) == len(team.moments)  # the edit's two versions both count
    assert throughput["last_hour"] == sum(
        m > now - timedelta(hours=1) for m in team.moments.values()
    )
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert throughput["today"] == sum(m >= day for m in team.moments.values())


def test_answers_spread_over_weeks_count_per_day(tmp_path):
    with Project.create(tmp_path / "p", "classification") as project:
        project.import_items(
            pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"]}), id_column="id", progress=False
        )
        project.submit("a", {"label": "billing"}, annotator="u")
        project.submit("b", {"label": "billing"}, annotator="u")
        long_ago = (datetime.now(UTC) - timedelta(days=10)).replace(tzinfo=None)
        with project.store.writing() as conn:
            conn.exec_driver_sql(
                "update annotations set created_at = ? where id = 1", (long_ago.isoformat(" "),)
            )
        throughput = project_figures(project)["throughput"]
    assert throughput["unit"] == "day"
    assert len(throughput["periods"]) == 11  # ten days back to today, empty days included
    assert [n for _, n in throughput["periods"]] == [1] + [0] * 9 + [1]


def test_stats_json_prints_the_figures(team):
    result = subprocess.run(
        [LABELKIT, "stats", str(team.project.path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    figures = json.loads(json.dumps(project_figures(team.project)))
    for key in ("generated_at", "throughput"):  # time-dependent
        printed.pop(key), figures.pop(key)
    assert printed == figures
    assert team.project.stats().keys() == project_figures(team.project).keys()
    text = subprocess.run(
        [LABELKIT, "stats", str(team.project.path)], capture_output=True, text=True, timeout=120
    ).stdout
    assert f"alpha {figures['agreement']['label']['alpha']:.3f} (nominal" in text


def test_empty_project_has_figures_too(tmp_path):
    with Project.create(tmp_path / "p", "pairwise-preference") as project:
        figures = project_figures(project)
        assert figures["items"] == 0 and figures["per_annotator"] == []
        assert figures["throughput"] == {"unit": "hour", "periods": [], "last_hour": 0, "today": 0}
        assert figures["disagreements"] == []
        assert figures["distributions"] == {"preference": [], "reasons": [], "comment": []}
        assert (
            figures["leaderboard"]["models"] == [] and "models" in figures["leaderboard"]["error"]
        )
        # The dashboard says what to add in the reader's language; the figures stay English.
        assert "aucune comparaison ne nomme ses modèles" in leaderboard_html(figures, "fr")
        assert "no comparison names its models" in leaderboard_html(figures)
        assert figures["agreement"]["preference"]["value"] is None
        for draw in (plots.throughput_plot, plots.annotator_plot, plots.agreement_plot):
            assert draw(figures) is None
        assert plots.png(plots.progress_plot(figures)).startswith(b"\x89PNG")


def test_leaderboard_of_a_preference_project(tmp_path):
    models = ["alpha-1", "beta-$2$", "gamma"]  # "$" would be math in a plot label
    strength = {"alpha-1": 3.0, "beta-$2$": 1.0, "gamma": 0.3}
    rng = np.random.default_rng(0)
    rows = []
    for i in range(90):
        a, b = rng.choice(models, 2, replace=False)
        rows.append(
            {
                "id": f"p{i}",
                "prompt": f"prompt {i}",
                "response_a": "A",
                "response_b": "B",
                "metadata": {"model_a": a, "model_b": b},
            }
        )
    with Project.create(tmp_path / "pref", "pairwise-preference", overlap=2) as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
        for row in rows:
            a, b = row["metadata"]["model_a"], row["metadata"]["model_b"]
            for name in ("u1", "u2"):
                won = rng.random() < strength[a] / (strength[a] + strength[b])
                choice = "response_a" if won else "response_b"
                answer = {"preference": {"choice": choice, "strength": "better"}}
                project.submit(row["id"], answer, annotator=name)
        figures = project_figures(project)
        board, _ = project.leaderboard()
    shown = figures["leaderboard"]
    assert shown["question"] == "preference" and shown["error"] is None
    assert [m["model"] for m in shown["models"]] == list(board.index)
    assert shown["models"][0]["model"] == "alpha-1"
    for model in shown["models"]:
        expected = board.loc[model["model"]]
        assert model["rating"] == pytest.approx(expected["rating"], abs=1e-3)
        assert model["wins"] + model["ties"] + model["losses"] == expected["comparisons"]
    assert figures["agreement"]["preference"]["measure"] == "Krippendorff's alpha (nominal)"
    assert plots.png(plots.leaderboard_plot(figures)).startswith(b"\x89PNG")


# ---------------------------------------------------------------------------- the app


def test_only_admins_see_the_dashboard(tmp_path, monkeypatch):
    team = simulated_team(tmp_path / "team", n_items=8, n_workers=4, overlap=2)
    project = team.project
    _, admin_token = project.annotators.add("lead", role="admin")
    _, annotator_token = project.annotators.add("ann0")
    served = {HOST_VARIABLE: "127.0.0.1"}
    assert admin_check(project, served | {"QUERY_STRING": f"token={admin_token}"}) == "lead"
    with pytest.raises(AccessDenied) as denied:
        admin_check(project, served | {"QUERY_STRING": f"token={annotator_token}"})
    assert denied.value.reason == "not_admin"
    with pytest.raises(AccessDenied) as denied:
        admin_check(project, served)  # links are in force: no link, no dashboard
    assert denied.value.reason == "no_token"

    # The served app: an annotator's link gets the "no access" page, no widgets.
    monkeypatch.setenv(HOST_VARIABLE, "127.0.0.1")
    monkeypatch.setenv("QUERY_STRING", f"token={annotator_token}")
    page = dashboard_app(str(project.path))
    assert "No access" in page.data and "admin" in page.data

    # The admin's link is checked again at every refresh: suspended, the figures go.
    dashboard = Dashboard(project, 30, served | {"QUERY_STRING": f"token={admin_token}"})
    dashboard.start()
    assert dashboard.tabs.children and "lk-access-denied" not in dashboard.error.value
    project.annotators.suspend("lead")
    click_without_a_loop(dashboard.refresh_button)
    assert "lk-access-denied" in dashboard.error.value and "suspended" in dashboard.error.value
    assert dashboard.tabs.children == () and dashboard.refresh_button.disabled
    dashboard.close()
    project = Project.open(team.project.path)
    monkeypatch.setenv("QUERY_STRING", f"token={admin_token}")
    assert "suspended" in dashboard_app(str(project.path)).data.lower()
    project.close()


def test_a_project_without_accounts_shows_the_local_user_the_dashboard(tmp_path):
    team = simulated_team(tmp_path / "team", n_items=8, n_workers=4, overlap=2)
    root = dashboard_app(str(team.project.path), refresh_seconds=5)
    assert "lk-dashboard" in root._dom_classes
    team.project.close()


def test_the_app_shows_the_figures_and_escapes_dataset_text(tmp_path):
    team = simulated_team(tmp_path / "team", n_items=10, n_workers=4, overlap=3)
    dashboard = Dashboard(team.project, 30, {})
    dashboard.start()  # no kernel loop here: shown once, the Refresh button still works
    figures = dashboard.figures
    for person in figures["per_annotator"]:
        row = f"<tr data-annotator='{person['annotator']}'>"
        assert row in dashboard.annotators.value
        assert f"<td class='lk-answers'>{person['answers']}</td>" in dashboard.annotators.value
    value = f"{figures['agreement']['label']['value']:.3f}"
    assert f"<td class='lk-value'>{value}</td>" in dashboard.agreement.value
    first = figures["disagreements"][0]
    assert dashboard.disagreement_list.value is None
    dashboard.disagreement_list.value = first["item_id"]  # what a click does
    shown = dashboard.drilldown.value
    assert "<script>" not in shown and "&lt;script&gt;alert(&#x27;" in shown
    for response in first["responses"]:
        assert f"<tr data-annotator='{response['annotator']}'>" in shown
        assert f"<td class='lk-q-label'>{response['answer']['label']}</td>" in shown

    # New answers show at the next refresh; the chosen item stays chosen.
    key = team.unanswered[1]
    team.project.submit(key, {"label": "billing"}, annotator="ann0")
    click_without_a_loop(dashboard.refresh_button)
    assert dashboard.figures["submitted"] == figures["submitted"] + 1
    assert dashboard.disagreement_list.value == first["item_id"]
    dashboard.close()


def test_drilldown_escapes_every_dataset_string():
    from labelkit.templates import template

    schema = template("pairwise-preference")
    hostile = "<img src=x onerror=alert(1)>"
    row = {
        "item": hostile,
        "agreement": 0.5,
        "answers": 2,
        "fields": {"prompt": hostile, "response_a": hostile, "response_b": hostile},
        "responses": [
            {
                "annotator": "u1",
                "answer": {
                    "preference": {"choice": "response_a", "strength": "better"},
                    "reasons": ["clearer"],
                    "comment": hostile,
                },
            },
            {"annotator": "u2", "answer": {"preference": {"choice": "tie", "strength": None}}},
        ],
    }
    shown = drilldown_html(row, schema)
    assert "<img" not in shown and shown.count("&lt;img src=x onerror=alert(1)&gt;") == 5
    assert "response_a (better)" in shown and "clearer" in shown


def test_refresh_interval_setting(tmp_path):
    with Project.create(tmp_path / "p", "classification") as project:
        assert refresh_interval(project, None) == 30
        project.settings["dashboard"] = {"refresh_seconds": 5}
        assert refresh_interval(project, None) == 5
        for bad in (0, "soon", True):
            with pytest.raises(LabelkitError, match="refresh_seconds"):
                refresh_interval(project, bad)
