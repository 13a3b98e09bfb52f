"""Agreement between annotators, at the level of measurement of each question type.

- Cohen's kappa: two annotators; `weights` "linear" / "quadratic" for ordinal scales (as
  scikit-learn's `cohen_kappa_score`). Per question: the mean over annotator pairs who share at
  least `min_shared` items.
- Fleiss' kappa: many annotators per item (statsmodels' `fleiss_kappa`, method "fleiss"). Items
  may have different numbers of answers: each item's agreement uses its own count (the same
  figure as statsmodels when the count is fixed); items with one answer are left out.
- Krippendorff's alpha: any number of annotators, missing answers allowed; "nominal",
  "ordinal", "interval" or "ratio" (as the `krippendorff` package, whose default is interval),
  or any distance function between two answers (`distance_alpha`).

Levels per question type (`agreement()`):

| type | alpha level / distance | kappas |
|---|---|---|
| label, single taxonomy | nominal | Fleiss, Cohen |
| preference | nominal over the choice (options and "tie") | Fleiss, Cohen |
| rating, up to 11 points | ordinal | Fleiss, Cohen quadratic-weighted |
| rating, longer scales (0-100) | interval | - |
| multi_label, multiple taxonomy | 1 - Jaccard of the label sets | - |
| ranking | (1 - Kendall's tau) / 2 | - |
| spans | 1 - Jaccard of the (character, label) sets | - |
| text | not measured | - |
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from labelkit.errors import LabelkitError
from labelkit.quality.aggregation import encode, vote_counts
from labelkit.quality.consensus import _cells, jaccard, kendall_tau
from labelkit.quality.tidy import question_table

LEVELS = ("nominal", "ordinal", "interval", "ratio")
ORDINAL_MAX_POINTS = 11


# ---------------------------------------------------------------------------- Cohen


def cohen_kappa(a, b, labels=None, weights: str | None = None) -> float:
    """Cohen's kappa of two equally long sequences of answers to the same items."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise LabelkitError("Cohen's kappa needs two answers per item")
    data = pd.DataFrame(
        {
            "task": np.arange(len(a)).repeat(2),
            "worker": np.tile([0, 1], len(a)),
            "label": np.stack([a, b], axis=1).ravel(),
        }
    )
    enc = encode(data, labels)
    codes = enc.label.reshape(-1, 2)
    return float(_kappas(codes[:, :1].T, codes[:, 1:].T, len(enc.labels), weights)[0])


def _weights(n_labels: int, weights: str | None) -> np.ndarray:
    grid = np.arange(n_labels)
    gap = np.abs(grid[:, None] - grid[None, :]).astype(float)
    if weights is None:
        return (gap > 0).astype(float)
    if weights == "linear":
        return gap
    if weights == "quadratic":
        return gap**2
    raise LabelkitError(f"weights are None, 'linear' or 'quadratic', not {weights!r}")


def _kappas(first: np.ndarray, second: np.ndarray, n_labels: int, weights) -> np.ndarray:
    """Kappa per row of paired code arrays (pairs x shared items, -1 = padding)."""
    n_pairs = first.shape[0]
    valid = (first >= 0) & (second >= 0)
    pair = np.broadcast_to(np.arange(n_pairs)[:, None], first.shape)[valid]
    cell = (pair * n_labels + first[valid]) * n_labels + second[valid]
    confusion = (
        np.bincount(cell, minlength=n_pairs * n_labels * n_labels)
        .reshape(n_pairs, n_labels, n_labels)
        .astype(float)
    )
    return _kappa_from_confusion(confusion, _weights(n_labels, weights))


def _kappa_from_confusion(confusion: np.ndarray, w: np.ndarray) -> np.ndarray:
    total = confusion.sum(axis=(1, 2))
    expected = confusion.sum(axis=2)[:, :, None] * confusion.sum(axis=1)[:, None, :]
    expected /= total[:, None, None]
    observed_disagreement = (w * confusion).sum(axis=(1, 2))
    expected_disagreement = (w * expected).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - observed_disagreement / expected_disagreement


def pairwise_cohen_kappa(
    table: pd.DataFrame,
    labels=None,
    weights: str | None = None,
    min_shared: int = 2,
    max_pairs: int = 2_000_000,
) -> pd.DataFrame:
    """Cohen's kappa for every pair of annotators sharing at least `min_shared` items of a tidy
    (item_id, annotator, value) table: columns annotator_a, annotator_b, shared, kappa.
    Above `max_pairs` pairs of answers (big projects) a fixed random share of the items is
    used, so memory stays bounded."""
    enc = encode(
        table.rename(columns={"item_id": "task", "annotator": "worker", "value": "label"}), labels
    )
    codes = pd.DataFrame({"t": enc.task, "w": enc.worker, "l": enc.label})
    per_task = np.bincount(enc.task)
    answer_pairs = int((per_task * (per_task - 1) // 2).sum())
    if answer_pairs > max_pairs:
        keep = np.random.default_rng(0).random(len(per_task)) < max_pairs / answer_pairs
        codes = codes[keep[enc.task]]
    pairs = codes.merge(codes, on="t", suffixes=("_a", "_b"))
    pairs = pairs[pairs["w_a"] < pairs["w_b"]]
    n_workers = len(enc.workers)
    pair_id, pair_index = pd.factorize(
        pairs["w_a"].to_numpy() * n_workers + pairs["w_b"].to_numpy(), sort=True
    )
    n_labels = len(enc.labels)
    cell = (pair_id * n_labels + pairs["l_a"].to_numpy()) * n_labels + pairs["l_b"].to_numpy()
    confusion = (
        np.bincount(cell, minlength=len(pair_index) * n_labels**2)
        .reshape(len(pair_index), n_labels, n_labels)
        .astype(float)
    )
    shared = confusion.sum(axis=(1, 2))
    kappa = _kappa_from_confusion(confusion, _weights(n_labels, weights))
    out = pd.DataFrame(
        {
            "annotator_a": enc.workers[pair_index // n_workers],
            "annotator_b": enc.workers[pair_index % n_workers],
            "shared": shared.astype(int),
            "kappa": kappa,
        }
    )
    return out[out["shared"] >= min_shared].reset_index(drop=True)


# ---------------------------------------------------------------------------- Fleiss


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa of an items x categories matrix of answer counts."""
    counts = np.asarray(counts, dtype=float)
    per_item = counts.sum(axis=1)
    counts, per_item = counts[per_item >= 2], per_item[per_item >= 2]
    if not len(counts):
        return float("nan")
    agreement = ((counts * (counts - 1)).sum(axis=1) / (per_item * (per_item - 1))).mean()
    shares = counts.sum(axis=0) / counts.sum()
    chance = (shares**2).sum()
    if chance == 1:
        return float("nan")
    return float((agreement - chance) / (1 - chance))


# ---------------------------------------------------------------------------- Krippendorff


def _level_distance(values: np.ndarray, counts: np.ndarray, level: str) -> np.ndarray:
    """Squared distances between the category values (Krippendorff's metric differences)."""
    if level == "nominal":
        return (values[:, None] != values[None, :]).astype(float)
    if level == "ordinal":
        cumulative = np.cumsum(counts) - counts / 2  # the middle of each rank's mass
        return (cumulative[:, None] - cumulative[None, :]) ** 2
    if level == "interval":
        return (values[:, None] - values[None, :]).astype(float) ** 2
    if level == "ratio":
        total = values[:, None] + values[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            out = ((values[:, None] - values[None, :]) / total) ** 2
        return np.nan_to_num(out)
    raise LabelkitError(f"level of measurement is one of {LEVELS}, not {level!r}")


def krippendorff_alpha(value_counts, level: str = "nominal", values=None) -> float:
    """Krippendorff's alpha from a units x values matrix of counts (how many annotators gave
    each value to each unit). `values`: the numeric value of each column (ordinal, interval
    and ratio levels; ordinal needs them sorted). Units with fewer than two answers are not
    pairable and left out."""
    counts = np.asarray(value_counts, dtype=float)
    per_unit = counts.sum(axis=1)
    counts, per_unit = counts[per_unit >= 2], per_unit[per_unit >= 2]
    if not len(counts):
        return float("nan")
    coincidence = (counts / (per_unit - 1)[:, None]).T @ counts
    coincidence -= np.diag((counts / (per_unit - 1)[:, None]).sum(axis=0))
    marginals = coincidence.sum(axis=0)
    n = marginals.sum()
    values = np.arange(counts.shape[1]) if values is None else np.asarray(values, dtype=float)
    delta = _level_distance(values, marginals, level)
    expected = (np.outer(marginals, marginals) * delta).sum()
    if expected == 0:
        return float("nan")
    return float(1 - (n - 1) * (coincidence * delta).sum() / expected)


def distance_alpha(
    units: list[list], distance: Callable[[object, object], float], max_pairs: int = 2_000_000
) -> float:
    """Krippendorff's alpha with any distance between two answers (0 = same), for answers that
    are not points on a scale (label sets, rankings, spans). `units`: the answers per item.
    Expected disagreement over all pairs of pairable answers; above `max_pairs` pairs it uses
    a fixed random sample of them."""
    units = [u for u in units if len(u) >= 2]
    if not units:
        return float("nan")
    observed = sum(
        sum(distance(u[i], u[j]) for i in range(len(u)) for j in range(len(u)) if i != j)
        / (len(u) - 1)
        for u in units
    )
    pooled = [value for u in units for value in u]
    n = len(pooled)
    observed /= n
    if n * (n - 1) <= max_pairs:
        expected = sum(distance(pooled[i], pooled[j]) for i in range(n) for j in range(n) if i != j)
        expected /= n * (n - 1)
    else:
        rng = np.random.default_rng(0)
        first, second = rng.integers(0, n, max_pairs), rng.integers(0, n, max_pairs)
        keep = first != second
        expected = np.mean(
            [distance(pooled[i], pooled[j]) for i, j in zip(first[keep], second[keep], strict=True)]
        )
    if expected == 0:
        return float("nan")
    return float(1 - observed / expected)


def set_distance(a, b) -> float:
    return 1 - jaccard(set(a), set(b))


def ranking_distance(a, b) -> float:
    return (1 - kendall_tau(a, b)) / 2


def span_distance(a, b) -> float:
    return 1 - jaccard(_cells(a), _cells(b))


# ---------------------------------------------------------------------------- per question


COLUMNS = ["question", "type", "level", "items", "answers", "alpha", "fleiss_kappa"]
COLUMNS += ["cohen_kappa", "cohen_pairs", "percent_agreement"]


def agreement(answers: pd.DataFrame, schema, *, min_shared: int = 2) -> pd.DataFrame:
    """Agreement per question of `answers` (current submitted answers, as for `consensus`):
    Krippendorff's alpha at the question's level, Fleiss' kappa and the mean pairwise Cohen's
    kappa where they apply, and the share of agreeing answer pairs. `items` counts the items
    with at least two answers."""
    rows = []
    for question in schema.questions:
        if question.type == "text":
            continue
        table = question_table(answers, question.name)
        rows.append(
            {
                "question": question.name,
                "type": question.type,
                **_measure(question, table, min_shared),
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    counts = ["items", "answers", "cohen_pairs"]
    return table.astype(dict.fromkeys(counts, "Int64") | {"level": "object"})


def _categories(question) -> tuple[list, str, str | None] | None:
    """(ordered categories, alpha level, Cohen weights) of a question measured by category."""
    if question.type == "label":
        return list(question.labels), "nominal", None
    if question.type == "taxonomy" and not question.multiple:
        return question.paths, "nominal", None
    if question.type == "preference":
        return [*list(question.options), "tie"], "nominal", None
    if question.type == "rating":
        points = list(range(question.min, question.max + 1, question.step))
        if len(points) <= ORDINAL_MAX_POINTS:
            return points, "ordinal", "quadratic"
        return points, "interval", None
    return None


def _measure(question, table: pd.DataFrame, min_shared: int) -> dict:
    result = dict.fromkeys(COLUMNS[2:])
    if table.empty:
        return result | {"items": 0, "answers": 0}
    if question.type == "preference":
        table = table.assign(value=[v["choice"] for v in table["value"]])
    multiple = table.groupby("item_id")["value"].transform("size") >= 2
    result["items"] = int(table.loc[multiple, "item_id"].nunique())
    result["answers"] = len(table)
    categorical = _categories(question)
    if categorical is None:
        distance, level = {
            "multi_label": (set_distance, "jaccard"),
            "taxonomy": (set_distance, "jaccard"),
            "ranking": (ranking_distance, "kendall"),
            "spans": (span_distance, "span-jaccard"),
        }[question.type]
        units = [list(v) for _, v in table.groupby("item_id")["value"]]
        return result | {"level": level, "alpha": distance_alpha(units, distance)}
    categories, level, weights = categorical
    data = table.rename(columns={"item_id": "task", "annotator": "worker", "value": "label"})
    counts = vote_counts(encode(data, categories))
    values = np.asarray(categories, dtype=float) if question.type == "rating" else None
    result |= {
        "level": level,
        "alpha": krippendorff_alpha(counts, level, values),
        "percent_agreement": _percent_agreement(counts),
    }
    if level != "interval":
        result["fleiss_kappa"] = fleiss_kappa(counts)
        pairs = pairwise_cohen_kappa(table, categories, weights, min_shared)
        result["cohen_kappa"] = float(pairs["kappa"].mean()) if len(pairs) else None
        result["cohen_pairs"] = len(pairs)
    return result


def _percent_agreement(counts: np.ndarray) -> float:
    """The share of pairs of answers to the same item that agree."""
    per_item = counts.sum(axis=1)
    agreeing = (counts * (counts - 1)).sum()
    pairs = (per_item * (per_item - 1)).sum()
    return float(agreeing / pairs) if pairs else float("nan")
