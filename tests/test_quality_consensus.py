"""Consensus, leaderboards, translation scores and agreement figures on real projects (SQLite
files written through Project.submit), as a lead reads them."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelkit.errors import LabelkitError
from labelkit.project import Project
from labelkit.quality import consensus
from labelkit.schema import (
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    Schema,
    SpanQuestion,
    TaxonomyQuestion,
    TextField,
    TextQuestion,
)

DATA = Path(__file__).resolve().parents[1] / "data"
LABELKIT = str(Path(sys.executable).with_name("labelkit"))
LABELS = ["billing", "technical issue", "account", "feedback", "other"]


@pytest.fixture
def classification(tmp_path, db_url):
    """The classification demo with gold (in SQLite and in PostgreSQL); three careful
    annotators and one adversary who always answers the next label."""
    project = Project.create(tmp_path / "cls", "classification", overlap=4, db_url=db_url)
    project.import_items(DATA / "classification.csv", progress=False)
    gold = {row.item_id: row.answer["label"] for row in _gold_rows(project)}
    rng = np.random.default_rng(0)
    truth = {}
    for item_id in _item_ids(project):
        truth[item_id] = gold.get(item_id, LABELS[int(rng.integers(5))])
    for item_id, label in truth.items():
        wrong = LABELS[(LABELS.index(label) + 1) % 5]
        for name, right_share in (("ann", 1.0), ("bea", 0.8), ("cho", 0.8)):
            answer = label if rng.random() < right_share else wrong
            project.submit(item_id, {"label": answer}, annotator=name)
        project.submit(item_id, {"label": wrong}, annotator="adversary")
    yield project, truth
    project.close()


def _item_ids(project):
    import sqlalchemy as sa

    from labelkit.store.tables import items

    with project.store.reading() as conn:
        return [row.id for row in conn.execute(sa.select(items.c.id).order_by(items.c.id))]


def _gold_rows(project):
    import sqlalchemy as sa

    from labelkit.store.tables import gold

    with project.store.reading() as conn:
        return list(conn.execute(sa.select(gold)))


def test_majority_consensus_of_a_project_counts_current_submitted_answers(classification):
    project, truth = classification
    some_item = next(iter(truth))
    # A changed mind counts once (the latest version), a skip not at all.
    project.submit(some_item, {"label": "other"}, annotator="ann")
    project.submit(some_item, {"label": truth[some_item]}, annotator="ann")
    project.submit(some_item, None, annotator="dan", status="skipped")

    table = project.consensus(use_gold=False)
    assert list(table.columns[:6]) == ["item_id", "item", "question", "value", "confidence", "n"]
    assert len(table) == len(truth) and set(table["question"]) == {"label"}
    answers = project.annotations(current_only=True)
    answers = answers[answers.status == "submitted"]
    for row in table.itertuples():
        given = [a["label"] for a in answers[answers.item_id == row.item_id]["answer"]]
        counts = {label: given.count(label) for label in LABELS}
        top = max(counts.values())
        assert counts[row.value] == top
        if list(counts.values()).count(top) == 1:
            assert row.value == max(counts, key=counts.get)
        assert row.confidence == pytest.approx(top / len(given))
        assert row.n == len(given) == 4
    assert isinstance(table.loc[0, "item"], str)  # the item key, as the exports use


def test_dawid_skene_consensus_pins_gold_and_beats_the_majority(classification):
    project, truth = classification
    gold_ids = {row.item_id for row in _gold_rows(project)}
    assert gold_ids
    majority = project.consensus("majority", use_gold=False).set_index("item_id")["value"]
    anchored = project.consensus("dawid_skene").set_index("item_id")
    assert (anchored.loc[sorted(gold_ids), "confidence"] == 1).all()
    assert all(anchored.loc[i, "value"] == truth[i] for i in gold_ids)
    correct = lambda values: np.mean([values[i] == truth[i] for i in truth])  # noqa: E731
    assert correct(anchored["value"]) >= correct(majority)
    assert correct(project.consensus("one_coin")["value"].set_axis(anchored.index)) >= correct(
        majority
    )


def test_unknown_method_is_a_clear_error(classification):
    project, _ = classification
    with pytest.raises(LabelkitError, match="dawid_skene"):
        project.consensus("wisdom")


SCHEMA = Schema(
    fields=[TextField(name="text"), TextField(name="a"), TextField(name="b")],
    questions=[
        MultiLabelQuestion(name="tags", labels=["x", "y", "z"]),
        RatingQuestion(name="quality", min=1, max=5),
        RankingQuestion(name="order", options=["a", "b", "c"]),
        SpanQuestion(
            name="errors", field="text", labels=["typo", "fact"], severities=["minor", "major"]
        ),
        TaxonomyQuestion(
            name="topic", categories=["news/sport", "news/politics", "fun"], multiple=False
        ),
        TaxonomyQuestion(name="flags", categories=["risk/legal", "risk/health", "ok"]),
        PreferenceQuestion(name="better", options=["a", "b"], strengths=["slightly", "much"]),
        TextQuestion(name="note", required=False),
    ],
)


def _answer(tags, quality, order, errors, topic, flags, better, note):
    return {
        "tags": tags,
        "quality": quality,
        "order": order,
        "errors": errors,
        "topic": topic,
        "flags": flags,
        "better": better,
        "note": note,
    }


def span(start, end, label, severity):
    return {"start": start, "end": end, "label": label, "severity": severity}


def test_each_question_type_gets_its_own_consensus(tmp_path):
    project = Project.create(tmp_path / "all", SCHEMA, overlap=3)
    item = {"id": "one", "text": "Teh capital of France is Lyon.", "a": "A", "b": "B"}
    project.import_items(pd.DataFrame([item]), id_column="id", progress=False)
    answers = {
        "p": _answer(
            ["x", "y"],
            4,
            ["a", "b", "c"],
            [span(0, 3, "typo", "minor"), span(25, 29, "fact", "major")],
            "news/sport",
            ["risk/legal"],
            {"choice": "a", "strength": "much"},
            "fine",
        ),
        "q": _answer(
            ["x"],
            5,
            ["a", "c", "b"],
            [span(0, 3, "typo", "major"), span(24, 29, "fact", "major")],
            "news/sport",
            ["risk/legal", "ok"],
            {"choice": "a", "strength": "slightly"},
            "Fine ",
        ),
        "r": _answer(
            ["x", "z"],
            1,
            ["b", "a", "c"],
            [span(25, 29, "fact", "minor")],
            "fun",
            [],
            {"choice": "b", "strength": "much"},
            "bad",
        ),
    }
    for name, answer in answers.items():
        project.submit("one", answer, annotator=name)
    table = project.consensus().set_index("question")
    value = table["value"]
    assert value["tags"] == ["x"]  # y and z were picked by one of three
    assert table.loc["tags", "confidence"] == pytest.approx(np.mean([1, 2 / 3, 2 / 3]))
    assert value["quality"] == 4 and table.loc["quality", "spread"] == pytest.approx(
        np.std([4, 5, 1])
    )
    assert table.loc["quality", "confidence"] == pytest.approx(1 - np.std([4, 5, 1]) / 2)
    assert value["order"] == ["a", "b", "c"]  # mean positions 1/3, 4/3, 4/3 -> first seen
    assert value["errors"] == [span(0, 3, "typo", "minor"), span(25, 29, "fact", "major")]
    assert value["topic"] == "news/sport" and table.loc["topic", "confidence"] == pytest.approx(
        2 / 3
    )
    assert value["flags"] == ["risk/legal"]
    assert value["better"] == {"choice": "a", "strength": "much"}
    assert value["note"] == "fine"  # "fine" and "Fine ": the same text, in its first spelling
    assert (table["n"] == 3).all()
    assert consensus(project.annotations(current_only=True), SCHEMA, rating="mean").set_index(
        "question"
    ).loc["quality", "value"] == pytest.approx(10 / 3)


# ---------------------------------------------------------------------------- leaderboard


def test_model_leaderboard_from_the_pairwise_demo_metadata(tmp_path, db_url):
    project = Project.create(tmp_path / "pairs", "pairwise-preference", overlap=3, db_url=db_url)
    project.import_items(DATA / "pairwise-preference.jsonl", id_column="id", progress=False)
    metadata = {
        json.loads(line)["id"]: json.loads(line)["metadata"]
        for line in (DATA / "pairwise-preference.jsonl").read_text().splitlines()
    }
    models = sorted({m for meta in metadata.values() for m in (meta["model_a"], meta["model_b"])})
    strength = {m: i for i, m in enumerate(models)}  # a known order: later names are better
    rng = np.random.default_rng(1)
    for key, meta in metadata.items():
        gap = strength[meta["model_a"]] - strength[meta["model_b"]]
        for name in ("u1", "u2", "u3", "u4", "u5", "u6"):
            draw = rng.random()
            p_a = 1 / (1 + np.exp(-1.5 * gap))
            choice = (
                "tie" if draw < 0.1 else ("response_a" if draw < 0.1 + 0.9 * p_a else "response_b")
            )
            value = {"choice": choice, "strength": None if choice == "tie" else "better"}
            project.submit(key, {"preference": value}, annotator=name)
    board, rates = project.leaderboard(rounds=50)
    assert board.index[0] == models[-1]
    assert list(board.index).index(models[0]) >= len(models) - 2
    assert (board["lower"] <= board["rating"]).all() and (board["rating"] <= board["upper"]).all()
    assert board["comparisons"].sum() == 2 * 6 * len(metadata)
    assert np.allclose((rates + rates.T).stack().dropna(), 1)


def test_leaderboard_without_model_metadata_says_what_to_add(tmp_path):
    project = Project.create(tmp_path / "bare", "pairwise-preference")
    project.import_items(
        pd.DataFrame([{"id": "x", "prompt": "p", "response_a": "a", "response_b": "b"}]),
        id_column="id",
        progress=False,
    )
    project.submit("x", {"preference": {"choice": "tie", "strength": None}}, annotator="u")
    with pytest.raises(LabelkitError, match="models"):
        project.leaderboard()


# ---------------------------------------------------------------------------- translation


def test_translation_scores_are_z_normalised_per_annotator(tmp_path):
    project = Project.create(tmp_path / "mt", "translation", overlap=2)
    project.import_items(DATA / "translation.jsonl", id_column="id", progress=False)
    rows = [json.loads(line) for line in (DATA / "translation.jsonl").read_text().splitlines()]
    rng = np.random.default_rng(2)
    for row in rows:  # a latent quality per item: the gold score where there is one
        row.setdefault("gold", {"score": int(rng.integers(20, 96)), "errors": []})
        quality, errors = row["gold"]["score"], row["gold"]["errors"]
        # "harsh" uses the low half of the scale, "kind" the top: the same judgement.
        project.submit(row["id"], {"score": int(quality / 2), "errors": errors}, annotator="harsh")
        kind = int(min(100, 50 + quality / 2 + rng.integers(0, 2)))
        project.submit(row["id"], {"score": kind, "errors": errors}, annotator="kind")
    items, systems = project.system_scores()
    assert len(items) == len(rows)
    # Both annotators rank the items alike, so their z-scores agree closely; raw scores do not.
    answers = project.annotations(current_only=True)
    assert items["z"].abs().max() < 3
    first = rows[0]
    weights = {"minor": 1, "major": 5}
    expected = 100 - sum(weights[e["severity"]] for e in first["gold"]["errors"])
    item_id = answers[answers.item == first["id"]].item_id.iloc[0]
    assert items.loc[item_id, "error_score"] == expected
    assert set(systems.index) == {row["metadata"]["system"] for row in rows}
    assert systems["items"].sum() == len(rows)
    best = max(
        systems.index,
        key=lambda s: np.mean([r["gold"]["score"] for r in rows if r["metadata"]["system"] == s]),
    )
    assert systems.index[0] == best


# ---------------------------------------------------------------------------- stats


def test_stats_json_gives_agreement_per_question(classification):
    project, _ = classification
    result = subprocess.run(
        [LABELKIT, "stats", str(project.path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["agreement"]["label"]
    expected = project.agreement().set_index("question").loc["label"]
    assert figures["level"] == "nominal"
    assert figures["alpha"] == pytest.approx(expected["alpha"], abs=1e-4)
    assert figures["fleiss_kappa"] == pytest.approx(expected["fleiss_kappa"], abs=1e-4)
    assert figures["items"] == len(project.consensus())
    assert -1 <= figures["alpha"] < 0.9  # the adversary pulls agreement down
    text = subprocess.run(
        [LABELKIT, "stats", str(project.path)], capture_output=True, text=True, timeout=120
    )
    assert f"label: alpha {figures['alpha']:.3f} (nominal" in text.stdout


def test_answers_outside_the_schema_name_the_question():
    from labelkit.templates import classification as classification_schema

    answers = pd.DataFrame(
        [
            {
                "item_id": 1,
                "item": "a",
                "annotator": "u",
                "status": "submitted",
                "answer": {"label": "refunds"},
            }
        ]  # a label removed from the schema since
    )
    with pytest.raises(LabelkitError, match=r"question 'label'.*refunds"):
        consensus(answers, classification_schema())
    with pytest.raises(LabelkitError, match="current_only"):
        consensus(answers.drop(columns=["answer"]), classification_schema())
