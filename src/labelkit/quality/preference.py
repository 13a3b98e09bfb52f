"""Preference leaderboards: Bradley-Terry with ties (Davidson 1970), bootstrap confidence
intervals and a win-rate matrix over the systems (models) whose responses were compared.

Which model wrote which response lives in the item's metadata, one of (first found wins):

- ``metadata["models"] = {"response_a": "gpt-x", "response_b": "llama"}`` (option -> model);
- ``metadata["model_response_a"]`` (``model_`` + the option name);
- ``metadata["model_a"]`` (``model_`` + the option's last ``_`` part), as in
  data/pairwise-preference.jsonl.

Items without a model for each option, or comparing a model with itself, are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from labelkit.errors import LabelkitError

TIE = "tie"


def option_model(metadata: dict | None, option: str) -> str | None:
    metadata = metadata or {}
    models = metadata.get("models")
    if isinstance(models, dict) and models.get(option) is not None:
        return str(models[option])
    for key in (f"model_{option}", f"model_{option.rsplit('_', 1)[-1]}"):
        if metadata.get(key) is not None:
            return str(metadata[key])
    return None


def comparisons(table: pd.DataFrame, question, metadata: dict) -> pd.DataFrame:
    """(worker, left, right, label) rows from a preference question's tidy answers: label is
    the winning model or "tie". An answer among k options gives k-1 comparisons (the choice
    against each other option; a tie ties every pair)."""
    rows = []
    for item_id, worker, value in zip(
        table["item_id"], table["annotator"], table["value"], strict=True
    ):
        models = {o: option_model(metadata.get(item_id), o) for o in question.options}
        if any(m is None for m in models.values()):
            continue
        choice = value["choice"]
        if choice == TIE:
            pairs = [
                (a, b) for i, a in enumerate(question.options) for b in question.options[i + 1 :]
            ]
            rows += [
                (worker, models[a], models[b], TIE) for a, b in pairs if models[a] != models[b]
            ]
        else:
            rows += [
                (worker, models[choice], models[other], models[choice])
                for other in question.options
                if other != choice and models[other] != models[choice]
            ]
    return pd.DataFrame(rows, columns=["worker", "left", "right", "label"])


class BradleyTerry:
    """Bradley-Terry strengths from pairwise comparisons, ties by Davidson's model:
    P(i beats j) = p_i / D, P(tie) = nu * sqrt(p_i p_j) / D, D = p_i + p_j + nu sqrt(p_i p_j).
    With no ties nu is 0 and this is the classic model (crowd-kit's BradleyTerry).

    `fit(data)` on (left, right, label) rows, label = the winner or "tie". Results: `scores_`
    (strengths summing to 1, as crowd-kit), `ratings_` (Elo-like: 1000 + 400 log10 of the
    strength relative to the geometric mean), `tie_` (nu), `loss_history_`.
    """

    def __init__(self, n_iter: int = 1000, tol: float = 1e-8, ties: bool = True):
        self.n_iter = n_iter
        self.tol = tol
        self.ties = ties

    def fit(self, data: pd.DataFrame) -> BradleyTerry:
        models, pairs, counts, pair_codes, kinds = _pair_counts(data)
        self._models, self._pairs = models, pairs
        self._pair_codes, self._kinds = pair_codes, kinds  # per comparison, for the bootstrap
        self.counts_ = pd.DataFrame(
            {
                "model_a": models[pairs[0]],
                "model_b": models[pairs[1]],
                "wins_a": counts[0],
                "wins_b": counts[1],
                "ties": counts[2],
            }
        )
        self.scores_, self.tie_ = self._solve(counts)
        self.ratings_ = _elo(self.scores_)
        return self

    def fit_predict(self, data: pd.DataFrame) -> pd.Series:
        return self.fit(data).scores_

    def _solve(self, counts: np.ndarray, start: np.ndarray | None = None):
        """MM / fixed-point updates on per-pair counts (wins of i, wins of j, ties)."""
        i, j = self._pairs
        n_models = len(self._models)
        wins_i, wins_j, ties = counts
        if not self.ties:
            wins_i, wins_j, ties = wins_i + ties / 2, wins_j + ties / 2, np.zeros_like(ties)
        total = wins_i + wins_j + ties
        score = np.bincount(i, wins_i + ties / 2, n_models) + np.bincount(
            j, wins_j + ties / 2, n_models
        )
        p = np.ones(n_models) if start is None else start.copy()
        nu = 0.0 if ties.sum() == 0 else 1.0
        self.loss_history_ = []
        for _ in range(self.n_iter):
            root = np.sqrt(p[i] * p[j])
            denom = p[i] + p[j] + nu * root
            # d logL / d p_i = score_i / p_i - sum_j n_ij (1 + nu/2 sqrt(p_j/p_i)) / D_ij
            slope_i = total * (1 + nu / 2 * np.sqrt(p[j] / p[i])) / denom
            slope_j = total * (1 + nu / 2 * np.sqrt(p[i] / p[j])) / denom
            slope = np.bincount(i, slope_i, n_models) + np.bincount(j, slope_j, n_models)
            new = np.divide(score, slope, out=np.zeros(n_models), where=slope > 0)
            new /= np.exp(np.log(np.maximum(new, 1e-300)).mean())  # geometric mean 1
            if ties.sum():
                root = np.sqrt(new[i] * new[j])
                nu = ties.sum() / (total * root / (new[i] + new[j] + nu * root)).sum()
            change = float(np.abs(new - p).max())
            p = new
            self.loss_history_.append(change)
            if change < self.tol:
                break
        return pd.Series(p / p.sum(), index=self._models, name="score"), nu

    def bootstrap(
        self,
        data: pd.DataFrame | None = None,
        rounds: int = 200,
        seed: int = 0,
        level: float = 0.95,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Confidence intervals of the ratings by resampling comparisons with replacement:
        columns rating, lower, upper (Elo-like scale), score, wins, ties, losses, comparisons."""
        if data is not None:
            self.fit(data)
        rng = np.random.default_rng(seed)
        n_rows, n_pairs = len(self._pair_codes), len(self._pairs[0])
        start_p = self.scores_.to_numpy() * len(self._models)
        samples = []
        for _ in tqdm(range(rounds), desc="bootstrap", disable=not progress):
            weights = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows)
            cell = self._kinds * n_pairs + self._pair_codes
            counts = np.bincount(cell, weights, 3 * n_pairs).reshape(3, n_pairs)
            scores, _ = self._solve(counts, start=start_p)
            samples.append(_elo(scores).to_numpy())
        samples = np.array(samples)
        tail = (1 - level) / 2 * 100
        return pd.DataFrame(
            {
                "rating": self.ratings_,
                "lower": np.percentile(samples, tail, axis=0),
                "upper": np.percentile(samples, 100 - tail, axis=0),
                "score": self.scores_,
            }
        )


def _pair_counts(data: pd.DataFrame):
    """Models, unordered pairs (i < j) and per-pair counts: wins of i, wins of j, ties."""
    missing = {"left", "right", "label"} - set(data.columns)
    if missing:
        raise LabelkitError(f"comparisons need the columns left, right, label; missing {missing}")
    left, right, label = (data[c].astype(str) for c in ("left", "right", "label"))
    # Codes by hashing (pandas), not by sorting strings: a few distinct models, many rows.
    codes, models = pd.factorize(pd.concat([left, right], ignore_index=True), sort=True)
    models = pd.Index(models)
    a, b = codes[: len(left)], codes[len(left) :]
    is_tie = (label == TIE).to_numpy()
    won = models.get_indexer(label)
    bad = ~is_tie & (won != a) & (won != b)
    if bad.any():
        raise LabelkitError(f"{int(bad.sum())} comparisons name a winner that is neither side")
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pair_codes, pair_index = pd.factorize(lo * len(models) + hi, sort=True)
    kind = np.where(is_tie, 2, np.where(won == lo, 0, 1))  # 0: i wins, 1: j wins, 2: tie
    pairs = (pair_index // len(models), pair_index % len(models))
    counts = np.stack(
        [np.bincount(pair_codes[kind == k], minlength=len(pair_index)) for k in range(3)]
    )
    return models.rename("model"), pairs, counts.astype(float), pair_codes, kind


def _elo(scores: pd.Series) -> pd.Series:
    log_p = np.log(np.maximum(scores.to_numpy(), 1e-300))
    return pd.Series(
        1000 + 400 * (log_p - log_p.mean()) / np.log(10), index=scores.index, name="rating"
    )


def win_rates(data: pd.DataFrame) -> pd.DataFrame:
    """Model x model matrix: the share of row's comparisons against column it won, ties
    counting half (NaN where two models never met)."""
    models, (i, j), counts, _, _ = _pair_counts(data)
    n = len(models)
    wins, games = np.zeros((n, n)), np.zeros((n, n))
    wins_i, wins_j, ties = counts
    np.add.at(wins, (i, j), wins_i + ties / 2)
    np.add.at(wins, (j, i), wins_j + ties / 2)
    np.add.at(games, (i, j), wins_i + wins_j + ties)
    np.add.at(games, (j, i), wins_i + wins_j + ties)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = wins / games
    return pd.DataFrame(rates, index=models, columns=models.rename(None))


def leaderboard(data: pd.DataFrame, rounds: int = 200, seed: int = 0, progress: bool = False):
    """Models best first: rating with bootstrap interval, score, wins, ties, losses."""
    model = BradleyTerry()
    table = model.bootstrap(data, rounds=rounds, seed=seed, progress=progress)
    wins, ties, games = [], [], []
    counts = model.counts_
    for name in table.index:
        as_a, as_b = counts[counts["model_a"] == name], counts[counts["model_b"] == name]
        wins.append(as_a["wins_a"].sum() + as_b["wins_b"].sum())
        ties.append(as_a["ties"].sum() + as_b["ties"].sum())
        games.append(
            as_a[["wins_a", "wins_b", "ties"]].to_numpy().sum()
            + as_b[["wins_a", "wins_b", "ties"]].to_numpy().sum()
        )
    table["wins"], table["ties"] = np.array(wins, int), np.array(ties, int)
    table["losses"] = np.array(games, int) - table["wins"] - table["ties"]
    table["comparisons"] = np.array(games, int)
    return table.sort_values("rating", ascending=False).rename_axis("model")
