"""Agreement measures against the reference implementations (scikit-learn, statsmodels, the
krippendorff package) on the same data, and Fleiss' published value on his 1971 data."""

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from labelkit.errors import LabelkitError
from labelkit.quality import (
    agreement,
    cohen_kappa,
    distance_alpha,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_cohen_kappa,
)
from labelkit.schema import LabelQuestion, MultiLabelQuestion, RatingQuestion, Schema, TextField

# Fleiss (1971), psychiatric diagnoses: 30 patients x 6 psychiatrists, 5 categories.
# The rows as printed in statsmodels' tests (each row: the six diagnoses of one patient).
FLEISS_1971 = np.array(
    [
        [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
    ]
)  # fmt: skip


def _counts(diagnoses):
    return np.stack([(diagnoses == c).sum(axis=1) for c in range(1, 6)], axis=1)


def test_fleiss_kappa_matches_the_published_value_on_fleiss_1971():
    assert fleiss_kappa(_counts(FLEISS_1971)) == pytest.approx(0.430, abs=5e-4)


def test_fleiss_kappa_matches_statsmodels_on_random_tables():
    rng = np.random.default_rng(3)
    for _ in range(5):
        ratings = rng.integers(0, 4, (50, 7))
        ratings[:20] = ratings[:20, :1]  # some agreement
        table, _ = aggregate_raters(ratings)
        assert fleiss_kappa(table) == pytest.approx(statsmodels_fleiss(table), abs=1e-12)


def _reliability(rng, coders=6, units=60, values=5, missing=0.25):
    data = rng.integers(0, values, (coders, units)).astype(float)
    data[:, : units // 2] = np.where(
        rng.random((coders, units // 2)) < 0.7, data[0, : units // 2], data[:, : units // 2]
    )
    data[rng.random(data.shape) < missing] = np.nan
    return data


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_krippendorff_alpha_matches_the_krippendorff_package(level):
    rng = np.random.default_rng(7)
    domain = [1, 2, 3, 4, 5]
    for _ in range(3):
        data = _reliability(rng) + 1
        counts = np.stack([(data == v).sum(axis=0) for v in domain], axis=1)
        expected = krippendorff.alpha(
            reliability_data=data, level_of_measurement=level, value_domain=domain
        )
        assert krippendorff_alpha(counts, level, values=domain) == pytest.approx(
            expected, abs=1e-10
        )


def test_distance_alpha_with_the_nominal_distance_equals_nominal_alpha():
    data = _reliability(np.random.default_rng(11))
    units = [[v for v in data[:, u] if not np.isnan(v)] for u in range(data.shape[1])]
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert distance_alpha(units, lambda a, b: float(a != b)) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_scikit_learn(weights):
    rng = np.random.default_rng(5)
    a = rng.integers(1, 6, 300)
    b = np.where(rng.random(300) < 0.6, a, rng.integers(1, 6, 300))
    expected = cohen_kappa_score(a, b, weights=weights, labels=[1, 2, 3, 4, 5])
    assert cohen_kappa(a, b, labels=[1, 2, 3, 4, 5], weights=weights) == pytest.approx(expected)


def test_pairwise_cohen_kappa_uses_each_pairs_shared_items():
    rng = np.random.default_rng(9)
    rows = []
    answers = {w: rng.integers(0, 3, 40) for w in "abc"}
    for w, labels in answers.items():
        for item, label in enumerate(labels):
            if not (w == "c" and item < 15):  # c skipped the first 15 items
                rows.append((item, w, int(label)))
    table = pd.DataFrame(rows, columns=["item_id", "annotator", "value"])
    pairs = pairwise_cohen_kappa(table, labels=[0, 1, 2]).set_index(["annotator_a", "annotator_b"])
    assert pairs.loc[("a", "b"), "shared"] == 40
    assert pairs.loc[("a", "b"), "kappa"] == pytest.approx(
        cohen_kappa_score(answers["a"], answers["b"])
    )
    assert pairs.loc[("b", "c"), "shared"] == 25
    expected = cohen_kappa_score(answers["b"][15:], answers["c"][15:])
    assert pairs.loc[("b", "c"), "kappa"] == pytest.approx(expected)


def test_bad_weights_are_refused():
    with pytest.raises(LabelkitError, match="quadratic"):
        cohen_kappa([1, 2], [1, 2], weights="cubic")


SCHEMA = Schema(
    fields=[TextField(name="text")],
    questions=[
        LabelQuestion(name="topic", labels=["a", "b", "c"]),
        RatingQuestion(name="quality", min=1, max=5),
        RatingQuestion(name="score", min=0, max=100),
        MultiLabelQuestion(name="tags", labels=["x", "y", "z"], required=False),
    ],
)


def _answers_table(reliability: dict[str, np.ndarray]) -> pd.DataFrame:
    """The answers table from per-question coders x items arrays (NaN = no answer)."""
    coders, units = next(iter(reliability.values())).shape
    rows = []
    for c in range(coders):
        for u in range(units):
            answer = {q: v[c, u] for q, v in reliability.items() if not pd.isna(v[c, u])}
            if answer:
                rows.append(
                    {
                        "item_id": u,
                        "item": f"i{u}",
                        "annotator": f"ann{c}",
                        "status": "submitted",
                        "answer": answer,
                    }
                )
    return pd.DataFrame(rows)


def test_agreement_picks_the_level_of_each_question_type():
    rng = np.random.default_rng(2)
    topic = _reliability(rng, values=3)
    quality = _reliability(rng) + 1
    score = np.round(np.clip(quality * 20 + rng.normal(0, 8, quality.shape), 0, 100))
    labels = np.array(["a", "b", "c"], dtype=object)
    topic_text = np.where(np.isnan(topic), None, labels[np.nan_to_num(topic).astype(int)])
    table = _answers_table(
        {
            "topic": topic_text,
            "quality": quality.astype(object),
            "score": np.where(np.isnan(quality), np.nan, score),
        }
    )
    table["answer"] = [
        {k: (int(v) if k != "topic" else v) for k, v in a.items()} for a in table["answer"]
    ]
    result = agreement(table, SCHEMA).set_index("question")

    assert result.loc["topic", "level"] == "nominal"
    assert result.loc["topic", "alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=topic, level_of_measurement="nominal")
    )
    assert result.loc["quality", "level"] == "ordinal"
    assert result.loc["quality", "alpha"] == pytest.approx(
        krippendorff.alpha(
            reliability_data=quality, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5]
        )
    )
    assert result.loc["score", "level"] == "interval"
    score_data = np.where(np.isnan(quality), np.nan, score)
    assert result.loc["score", "alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=score_data, level_of_measurement="interval")
    )
    assert pd.isna(result.loc["score", "fleiss_kappa"])  # no kappa on a 0-100 scale
    # The ordinal rating's Cohen kappa is quadratic-weighted: check one pair by hand.
    both = ~np.isnan(quality[0]) & ~np.isnan(quality[1])
    pair = pairwise_cohen_kappa(
        table.assign(value=[a.get("quality") for a in table["answer"]]).dropna(subset=["value"]),
        labels=[1, 2, 3, 4, 5],
        weights="quadratic",
    ).set_index(["annotator_a", "annotator_b"])
    assert pair.loc[("ann0", "ann1"), "kappa"] == pytest.approx(
        cohen_kappa_score(quality[0][both], quality[1][both], weights="quadratic")
    )
    assert result.loc["tags", "items"] == 0  # nobody answered it


def test_set_questions_use_the_jaccard_distance():
    perfect = [
        {"item_id": i, "annotator": w, "answer": {"tags": ["x", "y"] if i % 2 else ["z"]}}
        for i in range(10)
        for w in ("p", "q", "r")
    ]
    result = agreement(pd.DataFrame(perfect), SCHEMA).set_index("question")
    assert result.loc["tags", "level"] == "jaccard"
    assert result.loc["tags", "alpha"] == pytest.approx(1.0)
    shuffled = [
        dict(
            row,
            answer={"tags": [["x"], ["y", "z"], []][(row["item_id"] + ord(row["annotator"])) % 3]},
        )
        for row in perfect
    ]
    assert (
        agreement(pd.DataFrame(shuffled), SCHEMA).set_index("question").loc["tags", "alpha"] < 0.1
    )


def test_pairwise_cohen_kappa_on_a_big_crowd_samples_items_and_stays_close():
    from labelkit.quality.simulate import simulate_crowd

    crowd = simulate_crowd(4000, 8, 3, 6, shares={"good": 1.0}, seed=5)
    table = crowd.answers.rename(
        columns={"task": "item_id", "worker": "annotator", "label": "value"}
    )
    full = pairwise_cohen_kappa(table, labels=[0, 1, 2]).set_index(["annotator_a", "annotator_b"])
    sampled = pairwise_cohen_kappa(table, labels=[0, 1, 2], max_pairs=20_000)
    sampled = sampled.set_index(["annotator_a", "annotator_b"])
    assert sampled["shared"].sum() < 0.5 * full["shared"].sum()  # 60,000 answer pairs in all
    assert np.abs(sampled["kappa"] - full["kappa"].reindex(sampled.index)).max() < 0.1
