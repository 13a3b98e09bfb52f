"""The `labelkit` command, run as a user runs it: a real process, real files, exit codes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABELKIT = str(Path(sys.executable).with_name("labelkit"))


def labelkit(*args, cwd=None):
    return subprocess.run(
        [LABELKIT, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_entry_point_is_installed():
    assert shutil.which(LABELKIT) or os.path.exists(LABELKIT)


def test_init_import_stats(tmp_path):
    project = tmp_path / "support"
    data = tmp_path / "tickets.csv"
    data.write_text(
        "ticket,body,lang\n"
        "1,My invoice is wrong,en\n"
        '2,"Je ne peux pas me connecter, aidez-moi",fr\n'
        "3,Love the new dashboard,en\n"
    )
    result = labelkit("init", project, "--template", "classification")
    assert result.returncode == 0, result.stderr
    assert (project / "schema.yaml").exists() and (project / "labelkit.db").exists()

    result = labelkit(
        "import",
        project,
        data,
        "--map",
        "text=body",
        "--map",
        "language=lang",
        "--id-column",
        "ticket",
    )
    assert result.returncode == 0, result.stderr
    assert "3 rows, 3 items added" in result.stdout
    assert "3/3" in result.stderr  # the progress bar

    again = labelkit(
        "import", project, data, "--map", "text=body", "--id-column", "ticket", "--quiet"
    )
    assert again.returncode == 0 and "0 items added, 3 already there" in again.stdout
    assert again.stderr == ""

    result = labelkit("stats", project, "--json")
    figures = json.loads(result.stdout)
    assert (
        figures["items"] == 3
        and figures["not_started"] == 3
        and figures["kind"] == "classification"
    )

    text = labelkit("stats", project).stdout
    assert "items" in text and "not started" in text


def test_bad_input_exits_2_with_file_row_column(tmp_path):
    project = tmp_path / "p"
    labelkit("init", project, "--template", "classification")
    data = tmp_path / "bad.jsonl"
    data.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": ["not", "text"]}\n')
    result = labelkit("import", project, data, "--id-column", "id", "--quiet")
    assert result.returncode == 2
    assert f"error: {data}, row 2, column 'text': expected text, got list" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads(labelkit("stats", project, "--json").stdout)["items"] == 0


def test_usage_errors(tmp_path):
    assert labelkit("init", tmp_path / "x").returncode == 2  # neither template nor schema
    result = labelkit("init", tmp_path / "x", "--template", "nope")
    assert result.returncode == 2 and "classification" in result.stderr
    project = tmp_path / "p"
    labelkit("init", project, "--template", "moderation")
    again = labelkit("init", project, "--template", "moderation")
    assert again.returncode == 2 and "already a labelkit project" in again.stderr
    (tmp_path / "d.csv").write_text("text\nhi\n")
    bad_map = labelkit("import", project, tmp_path / "d.csv", "--map", "content")
    assert bad_map.returncode == 2 and "FIELD=COLUMN" in bad_map.stderr
    not_project = labelkit("stats", tmp_path)
    assert not_project.returncode == 2 and "not a labelkit project" in not_project.stderr


def test_init_from_schema_file(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "title": "Sentiment",
                "fields": [{"type": "text", "name": "review"}],
                "questions": [{"type": "label", "name": "sentiment", "labels": ["pos", "neg"]}],
            }
        )
    )
    result = labelkit("init", tmp_path / "p", "--schema", schema)
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("fields: []\nquestions: []\n")
    result = labelkit("init", tmp_path / "q", "--schema", broken)
    assert result.returncode == 2 and "at least one field" in result.stderr


def test_templates_lists_every_template():
    result = labelkit("templates")
    for name in [
        "chatbot-rating",
        "pairwise-preference",
        "moderation",
        "translation",
        "image-validation",
        "classification",
    ]:
        assert name in result.stdout


@pytest.mark.parametrize("command", ["", "init", "import", "stats", "templates"])
def test_help(command):
    result = labelkit(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "Usage: labelkit" in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_stats_says_plainly_that_gold_items_are_not_among_the_items_to_label(tmp_path):
    import pandas as pd

    from labelkit import Project

    rows = [{"id": f"t{i}", "text": f"message {i}"} for i in range(3)]
    rows.append({"id": "g1", "text": "gold one", "gold": {"label": "billing"}})
    with Project.create(tmp_path / "p", "classification") as project:
        project.import_items(pd.DataFrame(rows), id_column="id", progress=False)
    lines = labelkit("stats", tmp_path / "p").stdout.splitlines()
    items = next(line for line in lines if line.startswith("items"))
    assert items.split() == ["items", "3", "to", "label,", "1", "gold"]
