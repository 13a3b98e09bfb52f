"""Quality figures of a whole project: the model leaderboard of its preference questions and
the per-system scores of its translation questions (the entry points behind Project methods
and `labelkit stats`)."""

from __future__ import annotations

import pandas as pd

from labelkit.errors import LabelkitError
from labelkit.i18n import Message
from labelkit.quality.preference import comparisons, leaderboard, win_rates
from labelkit.quality.tidy import item_metadata, project_answers, question_table
from labelkit.quality.translation import systems_of, translation_scores


def _question(project, name: str | None, kind: str):
    found = [q for q in project.schema.questions if q.type == kind and name in (None, q.name)]
    if not found:
        raise LabelkitError(
            f"the project has no {kind} question" + (f" named {name!r}" if name else "")
        )
    return found[0]


def preference_comparisons(project, question: str | None = None) -> pd.DataFrame:
    """(worker, left, right, label) comparisons between models of a preference question."""
    q = _question(project, question, "preference")
    table = question_table(project_answers(project), q.name)
    return comparisons(table, q, item_metadata(project.store))


def model_leaderboard(project, question: str | None = None, rounds: int = 200, seed: int = 0):
    """(leaderboard, win-rate matrix) of the models compared in a preference question."""
    data = preference_comparisons(project, question)
    if data.empty:
        raise LabelkitError(Message.of("leaderboard.no_models"))
    return leaderboard(data, rounds=rounds, seed=seed), win_rates(data)


def system_scores(project, score: str | None = None, errors: str | None = None):
    """(per item, per system) translation scores: mean score, z-score, error-span score."""
    answers = project_answers(project)
    score_q = _question(project, score, "rating")
    span_qs = [
        q for q in project.schema.questions if q.type == "spans" and errors in (None, q.name)
    ]
    spans = question_table(answers, span_qs[0].name) if span_qs else None
    systems = systems_of(item_metadata(project.store))
    return translation_scores(question_table(answers, score_q.name), spans, systems)


def agreement_by_question(project, answers: pd.DataFrame | None = None) -> dict[str, dict]:
    """Agreement per question as plain JSON-ready numbers (None where not measured), for
    `labelkit stats`, the dashboard and the dataset card. Each question (free text is not
    measured) gets its headline `measure` (Krippendorff's alpha at the level that fits its
    type, see labelkit.quality.agreement) and `value`, with Fleiss' and Cohen's kappa where
    they apply. `answers`: the current submitted answers (default: the project's)."""
    from labelkit.quality.agreement import agreement

    if answers is None:
        answers = project_answers(project)
    table = agreement(answers, project.schema)
    figures = {}
    for row in table.to_dict("records"):
        name = row.pop("question")
        found = {k: _plain(v) for k, v in row.items()}
        level = MEASURE_LEVELS.get(row["level"])
        found["measure"] = level and f"Krippendorff's alpha ({level})"  # None: no answers yet
        found["value"] = found["alpha"]
        figures[name] = found
    return figures


# What the `level` column of agreement() means, in words for the card and the dashboard.
MEASURE_LEVELS = {
    "nominal": "nominal",
    "ordinal": "ordinal",
    "interval": "interval",
    "jaccard": "distance 1 - Jaccard of the label sets",
    "kendall": "distance (1 - Kendall's tau) / 2 of the rankings",
    "span-jaccard": "distance 1 - Jaccard of the labelled characters",
}

agreement_figures = agreement_by_question  # the older name


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return round(value, 4) if isinstance(value, float) else value
