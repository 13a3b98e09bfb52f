"""How close an answer is to a gold answer: a score in [0, 1] per question, and per item.

Rules, by question type (the gold answer's value `g`, the annotator's value `a`):
- label, preference, taxonomy: exact. 1 when equal, else 0. A preference compares the choice
  only (how much better is a matter of degree people honestly differ on); a multiple taxonomy
  compares the sets of paths.
- multi_label: Jaccard similarity |a & g| / |a | g| (both empty: 1).
- rating: 1 when |a - g| <= tolerance, else 0. The tolerance is `rating_tolerance` (default
  1) for ordinary scales and `slider_tolerance` (default 10) for wide scales shown as sliders
  (0-100 scores: RatingQuestion.is_slider); `tolerances: {question: n}` overrides both.
- spans: F1 of character overlap with matching labels: for each label, the characters the gold
  spans cover against the characters the annotator's spans cover; precision = shared / the
  annotator's, recall = shared / gold's, F1 = 2PR / (P + R). Severities are not compared. Both
  empty ("no error" both times): 1; one empty: 0.
- ranking: order agreement, Kendall's tau over the pairs of options mapped to [0, 1]:
  (tau + 1) / 2, so the same order scores 1 and the reverse 0.
- text: not scored (free text has no single right answer).

An item's score is the mean over the questions the gold answer gives a scored value for; a
question the annotator left out (or was not asked) scores 0. None when nothing is scored.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from labelkit.gold.settings import QualitySettings
from labelkit.schema import Schema

UNSCORED_TYPES = ("text",)


def score_answer(
    schema: Schema, answer: dict | None, gold: dict, settings: QualitySettings | None = None
) -> float | None:
    """The mean per-question score of `answer` against the `gold` answer (None: nothing to
    score, e.g. a gold answer with only free text)."""
    settings = settings or QualitySettings()
    answer = answer or {}
    scores = []
    for question in schema.questions:
        if question.type in UNSCORED_TYPES or gold.get(question.name) is None:
            continue
        given, wanted = answer.get(question.name), gold[question.name]
        scores.append(score_question(question, given, wanted, tolerance(question, settings)))
    return sum(scores) / len(scores) if scores else None


def tolerance(question, settings: QualitySettings) -> float:
    if question.name in settings.tolerances:
        return settings.tolerances[question.name]
    if question.type == "rating" and question.is_slider:
        return settings.slider_tolerance
    return settings.rating_tolerance


def score_question(question, given: Any, gold: Any, tolerance: float = 1) -> float:
    """The score in [0, 1] of one answer value against the gold value (see the module)."""
    if given is None:
        return 0.0
    kind = question.type
    if kind == "label":
        return float(given == gold)
    if kind == "preference":
        return float(_choice(given) == _choice(gold))
    if kind == "taxonomy":
        if isinstance(gold, list) or isinstance(given, list):
            return float(set(_as_list(given)) == set(_as_list(gold)))
        return float(given == gold)
    if kind == "multi_label":
        return jaccard(_as_list(given), _as_list(gold))
    if kind == "rating":
        try:
            return float(abs(float(given) - float(gold)) <= tolerance)
        except (TypeError, ValueError):
            return 0.0
    if kind == "spans":
        return span_f1(given, gold)
    if kind == "ranking":
        return ranking_agreement(given, gold)
    raise ValueError(f"question type {kind!r} is not scored")


def jaccard(a, b) -> float:
    a, b = set(a), set(b)
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def span_f1(given: list[dict], gold: list[dict]) -> float:
    """F1 of the characters covered, label by label (see the module)."""
    mine, theirs = _covered(given), _covered(gold)
    if not mine and not theirs:
        return 1.0
    shared = len(mine & theirs)
    if not shared:
        return 0.0
    precision, recall = shared / len(mine), shared / len(theirs)
    return 2 * precision * recall / (precision + recall)


def _covered(spans) -> set[tuple[str, int]]:
    """{(label, character offset)} of every character a list of spans covers."""
    covered = set()
    for span in spans or []:
        if isinstance(span, dict):
            start, end = int(span.get("start", 0)), int(span.get("end", 0))
            covered.update((span.get("label"), i) for i in range(start, end))
    return covered


def ranking_agreement(given: list, gold: list) -> float:
    """Kendall's tau between two orders of the same options, mapped to [0, 1]."""
    position = {option: i for i, option in enumerate(given)}
    pairs = list(combinations(gold, 2))  # gold's order: a before b
    if not pairs:
        return 1.0
    if any(option not in position for option in gold):
        return 0.0
    concordant = sum(position[a] < position[b] for a, b in pairs)
    tau = (2 * concordant - len(pairs)) / len(pairs)  # (C - D) / pairs
    return (tau + 1) / 2


def _choice(value):
    return value.get("choice") if isinstance(value, dict) else value


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
