"""The lead's commands: an annotator's history and the gold figures in the list."""

import json

from click.testing import CliRunner

from labelkit import Project
from labelkit.cli import cli


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def test_history_and_list_show_standing_and_reasons(tmp_path):
    folder = tmp_path / "p"
    with Project.create(folder, "classification") as project:
        project.annotators.add("ana")
    code, _ = run("annotators", "suspend", folder, "ana", "--reason", "too many skips")
    assert code == 0
    code, out = run("annotators", "resume", folder, "ana")
    assert code == 0
    code, out = run("annotators", "history", folder, "ana")
    assert code == 0, out
    assert "ana: level 0, active" in out
    assert "gold accuracy - over 0 (window 10)" in out
    assert out.index("resumed by the project lead") < out.index("too many skips")
    assert "active -> suspended" in out
    code, out = run("annotators", "history", folder, "ana", "--json")
    figures = json.loads(out)
    assert figures["status"] == "active" and len(figures["history"]) == 2
    code, out = run("annotators", "list", folder, "--json")
    (row,) = json.loads(out)
    assert row["gold_accuracy"] is None and row["gold_count"] == 0
    code, out = run("annotators", "list", folder)
    assert out.splitlines()[0].endswith("gold") and out.splitlines()[1].endswith("-")
    code, out = run("annotators", "history", folder, "nobody")
    assert code == 2 and "unknown annotator 'nobody'" in out
