"""Per-question scoring of gold answers, with hand-computed values."""

import pytest

from labelkit import Schema
from labelkit.gold import QualitySettings, score_answer, score_question
from labelkit.gold.settings import parse

SCHEMA = Schema.from_dict(
    {
        "fields": [
            {"name": "text", "type": "text"},
            {"name": "a", "type": "text"},
            {"name": "b", "type": "text"},
        ],
        "questions": [
            {"name": "label", "type": "label", "labels": ["x", "y", "z"]},
            {"name": "tags", "type": "multi_label", "labels": ["p", "q", "r", "s"]},
            {"name": "stars", "type": "rating", "min": 1, "max": 5},
            {"name": "score", "type": "rating", "min": 0, "max": 100},
            {
                "name": "better",
                "type": "preference",
                "options": ["a", "b"],
                "strengths": ["slightly", "much"],
            },
            {"name": "order", "type": "ranking", "options": ["r1", "r2", "r3", "r4"]},
            {"name": "errors", "type": "spans", "field": "text", "labels": ["bad", "ugly"]},
            {"name": "topics", "type": "taxonomy", "categories": ["v/graphic", "v/mild", "h"]},
            {"name": "note", "type": "text", "required": False},
        ],
    }
)


def q(name):
    return SCHEMA.question(name)


def test_labels_preferences_and_taxonomies_are_exact():
    assert score_question(q("label"), "x", "x") == 1.0
    assert score_question(q("label"), "y", "x") == 0.0
    # a preference compares the choice; the strength is a matter of degree
    much, slightly = {"choice": "a", "strength": "much"}, {"choice": "a", "strength": "slightly"}
    assert score_question(q("better"), much, slightly) == 1.0
    assert score_question(q("better"), {"choice": "b", "strength": "much"}, much) == 0.0
    assert score_question(q("topics"), ["v/graphic", "h"], ["h", "v/graphic"]) == 1.0
    assert score_question(q("topics"), ["v/graphic"], ["v/graphic", "h"]) == 0.0


def test_multi_label_is_jaccard():
    assert score_question(q("tags"), ["p", "q"], ["q", "r"]) == pytest.approx(1 / 3)
    assert score_question(q("tags"), ["p", "q", "r"], ["p", "q", "r", "s"]) == 0.75
    assert score_question(q("tags"), [], []) == 1.0
    assert score_question(q("tags"), ["p"], []) == 0.0


def test_ratings_count_within_their_tolerance():
    assert score_question(q("stars"), 4, 5, tolerance=1) == 1.0
    assert score_question(q("stars"), 3, 5, tolerance=1) == 0.0
    settings = QualitySettings()
    # 1-5 uses rating_tolerance (1); 0-100 is a slider and uses slider_tolerance (10)
    assert score_answer(SCHEMA, {"stars": 4}, {"stars": 5}, settings) == 1.0
    assert score_answer(SCHEMA, {"score": 62}, {"score": 70}, settings) == 1.0
    assert score_answer(SCHEMA, {"score": 59}, {"score": 70}, settings) == 0.0
    strict = parse({"tolerances": {"score": 0}})
    assert score_answer(SCHEMA, {"score": 69}, {"score": 70}, strict) == 0.0


def test_spans_score_the_f1_of_character_overlap_with_matching_labels():
    gold = [{"start": 0, "end": 10, "label": "bad", "severity": None}]
    # 5 of my 5 characters are gold's: precision 1; 5 of gold's 10: recall 0.5; F1 = 2/3
    half = [{"start": 5, "end": 10, "label": "bad", "severity": None}]
    assert score_question(q("errors"), half, gold) == pytest.approx(2 / 3)
    # the same characters under another label share nothing
    other = [{"start": 0, "end": 10, "label": "ugly", "severity": None}]
    assert score_question(q("errors"), other, gold) == 0.0
    # 0-10 against gold 0-10 plus 20-30 (ugly): precision 1, recall 0.5
    two = [*gold, {"start": 20, "end": 30, "label": "ugly", "severity": None}]
    assert score_question(q("errors"), gold, two) == pytest.approx(2 / 3)
    # overlap 6-10 of mine 6-14 (8 chars) against gold 0-10: P = 4/8, R = 4/10, F1 = 4/9
    shifted = [{"start": 6, "end": 14, "label": "bad", "severity": None}]
    assert score_question(q("errors"), shifted, gold) == pytest.approx(4 / 9)
    assert score_question(q("errors"), [], []) == 1.0  # "no error" both times
    assert score_question(q("errors"), [], gold) == 0.0


def test_rankings_score_kendall_tau_mapped_to_0_1():
    gold = ["r1", "r2", "r3", "r4"]
    assert score_question(q("order"), gold, gold) == 1.0
    assert score_question(q("order"), gold[::-1], gold) == 0.0
    # one adjacent swap: 5 of 6 pairs agree, tau = (5 - 1) / 6, score = (tau + 1) / 2 = 5/6
    assert score_question(q("order"), ["r2", "r1", "r3", "r4"], gold) == pytest.approx(5 / 6)


def test_an_item_scores_the_mean_over_the_gold_answers_scored_questions():
    gold = {"label": "x", "tags": ["p", "q"], "stars": 5, "note": "free text is not scored"}
    answer = {"label": "x", "tags": ["q"], "stars": 1, "note": "anything"}
    # label 1, tags 1/2, stars 0 -> 0.5; the free text does not count
    assert score_answer(SCHEMA, answer, gold) == pytest.approx(0.5)
    # a question of the gold answer left out scores 0
    assert score_answer(SCHEMA, {"label": "x"}, {"label": "x", "stars": 3}) == 0.5
    # only free text: nothing to score
    assert score_answer(SCHEMA, {"note": "a"}, {"note": "b"}) is None
