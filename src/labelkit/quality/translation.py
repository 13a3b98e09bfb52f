"""Translation judgements: Direct Assessment scores z-normalised per annotator (annotators use
the 0-100 scale differently: some never go below 50), and MQM-style error-span scores.

Error-span score of one answer = 100 - sum of the severity weights of its spans
(MQM-style defaults: minor 1, major 5, critical 25; spans without severity count as minor).
Per item the mean over its annotators; per system the mean over its items. The system comes
from item metadata ``system`` (as in data/translation.jsonl).
"""

from __future__ import annotations

import pandas as pd

SEVERITY_WEIGHTS = {"minor": 1.0, "major": 5.0, "critical": 25.0}


def annotator_norms(table: pd.DataFrame) -> pd.DataFrame:
    """Each annotator's mean and (population) standard deviation of their scores, indexed by
    annotator. `table`: (annotator, value) rows."""
    by_annotator = table["value"].astype(float).groupby(table["annotator"])
    return pd.DataFrame({"mean": by_annotator.mean(), "std": by_annotator.std(ddof=0)})


def z_score(value: float, mean: float, std: float) -> float:
    """One score against its annotator's norm; 0 when their scores never vary."""
    return (value - mean) / std if std > 0 else 0.0


def z_scores(table: pd.DataFrame) -> pd.Series:
    """Each answer's score as a z-score within its annotator's own scores (an annotator whose
    scores never vary gets 0). `table`: tidy (item_id, annotator, value)."""
    norms = annotator_norms(table)
    mean = table["annotator"].map(norms["mean"])
    spread = table["annotator"].map(norms["std"])
    z = (table["value"].astype(float) - mean) / spread
    return z.where(spread > 0, 0.0).rename("z")


def error_score(spans: list[dict], weights: dict[str, float] = SEVERITY_WEIGHTS) -> float:
    return 100.0 - sum(weights.get(s.get("severity") or "minor", weights["minor"]) for s in spans)


def translation_scores(
    score_table: pd.DataFrame | None,
    span_table: pd.DataFrame | None,
    systems: dict | None = None,
    weights: dict[str, float] = SEVERITY_WEIGHTS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per item and per system: raw mean score, mean z-score, mean error-span score and the
    number of answers. `systems`: item_id -> system name (items without one are "unknown")."""
    parts = []
    if score_table is not None and len(score_table):
        parts.append(
            pd.DataFrame(
                {
                    "item_id": score_table["item_id"],
                    "score": score_table["value"].astype(float),
                    "z": z_scores(score_table).to_numpy(),
                }
            )
            .groupby("item_id")
            .agg(score=("score", "mean"), z=("z", "mean"), n=("z", "size"))
        )
    if span_table is not None and len(span_table):
        errors = pd.DataFrame(
            {
                "item_id": span_table["item_id"],
                "error_score": [error_score(v, weights) for v in span_table["value"]],
                "errors": [len(v) for v in span_table["value"]],
            }
        )
        parts.append(
            errors.groupby("item_id").agg(
                error_score=("error_score", "mean"), errors=("errors", "mean")
            )
        )
    if not parts:
        empty = pd.DataFrame(columns=["score", "z", "error_score"])
        return empty, empty
    items = pd.concat(parts, axis=1)
    items["system"] = [(systems or {}).get(i) or "unknown" for i in items.index]
    numeric = [c for c in ("score", "z", "error_score") if c in items.columns]
    per_system = items.groupby("system")[numeric].mean()
    per_system["items"] = items.groupby("system").size()
    return items, per_system.sort_values(numeric[0] if "z" not in numeric else "z", ascending=False)


def systems_of(metadata: dict) -> dict:
    """item_id -> metadata["system"] where present."""
    return {
        i: m.get("system") for i, m in metadata.items() if isinstance(m, dict) and m.get("system")
    }


__all__ = [
    "SEVERITY_WEIGHTS",
    "annotator_norms",
    "error_score",
    "systems_of",
    "translation_scores",
    "z_score",
    "z_scores",
]
