"""Schema: every question type validates answers with clear messages; schemas round-trip files."""

import pytest

from labelkit import (
    AnswerError,
    ChatField,
    Condition,
    ImageField,
    LabelQuestion,
    MarkdownField,
    MultiLabelQuestion,
    PreferenceQuestion,
    RankingQuestion,
    RatingQuestion,
    Schema,
    SchemaError,
    SpanQuestion,
    TaxonomyQuestion,
    TextField,
    TextQuestion,
)

ITEM = {"prompt": "Say hi", "a": "Hello!", "b": "Hi there.", "translation": "Bonjour le monde"}


def every_question_schema() -> Schema:
    return Schema(
        title="All kinds",
        guidelines="# Be careful\nRead everything.",
        fields=[
            TextField(name="prompt"),
            MarkdownField(name="a"),
            MarkdownField(name="b"),
            TextField(name="translation"),
            ChatField(name="chat"),
            ImageField(name="image"),
        ],
        questions=[
            LabelQuestion(name="inappropriate", labels=["yes", "no"], help="Anything unsafe?"),
            TaxonomyQuestion(
                name="category",
                categories=["hate/threatening", "violence/graphic", "spam"],
                when=Condition(question="inappropriate", equals="yes"),
            ),
            MultiLabelQuestion(name="tags", labels=["funny", "rude", "long"], max_selected=2),
            RatingQuestion(name="clarity", min=1, max=5, low_label="confusing", high_label="clear"),
            RatingQuestion(name="score", min=0, max=100),
            PreferenceQuestion(
                name="better", options=["a", "b"], strengths=["better", "much better"]
            ),
            RankingQuestion(name="rank", options=["a", "b", "c"]),
            TextQuestion(name="comment", required=False),
            SpanQuestion(
                name="errors",
                field="translation",
                labels=["accuracy", "fluency"],
                severities=["minor", "major"],
            ),
        ],
    )


GOOD = {
    "inappropriate": "yes",
    "category": ["violence/graphic", "hate"],
    "tags": ["rude", "funny"],
    "clarity": 4,
    "score": 73,
    "better": {"choice": "b", "strength": "much better"},
    "rank": ["c", "a", "b"],
    "comment": "  fine  ",
    "errors": [{"start": 8, "end": 16, "label": "accuracy", "severity": "major"}],
}


def test_valid_answer_is_normalized():
    clean = every_question_schema().validate_answer(GOOD, ITEM)
    assert clean["category"] == ["hate", "violence/graphic"]  # tree order, parents selectable
    assert clean["tags"] == ["funny", "rude"]  # label order
    assert clean["comment"] == "fine"
    assert clean["better"] == {"choice": "b", "strength": "much better"}
    assert clean["errors"][0]["end"] == 16


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inappropriate": "maybe"}, "'maybe' is not one of the labels"),
        ({"clarity": 6}, "rating 6 is outside 1–5"),
        ({"clarity": "4"}, "expected a whole number"),
        ({"clarity": True}, "expected a whole number"),
        ({"score": 101}, "outside 0–100"),
        ({"tags": ["funny", "rude", "long"]}, "pick at most 2"),
        ({"tags": ["weird"]}, "not among the labels"),
        ({"better": {"choice": "c", "strength": "better"}}, "choice 'c' is not one of"),
        ({"better": {"choice": "a"}}, "say how much better"),
        ({"better": {"choice": "tie", "strength": "better"}}, "a tie has no strength"),
        ({"rank": ["a", "b"]}, "every option exactly once"),
        ({"rank": ["a", "a", "b"]}, "every option exactly once"),
        ({"category": ["crime"]}, "not in the taxonomy"),
        (
            {"errors": [{"start": 8, "end": 99, "label": "accuracy", "severity": "minor"}]},
            "outside the text of 'translation' (16 characters)",
        ),
        (
            {"errors": [{"start": 5, "end": 5, "label": "accuracy", "severity": "minor"}]},
            "start < end",
        ),
        (
            {"errors": [{"start": 0, "end": 3, "label": "grammar", "severity": "minor"}]},
            "label 'grammar'",
        ),
        (
            {"errors": [{"start": 0, "end": 3, "label": "fluency", "severity": "huge"}]},
            "severity 'huge'",
        ),
        ({"clarity": None}, "question 'clarity' is required"),
        ({"surprise": 1}, "unknown question 'surprise'"),
        ({"inappropriate": "no"}, "'category' is only asked when 'inappropriate' is 'yes'"),
    ],
)
def test_invalid_answers_say_what_is_wrong(change, message):
    answer = {**GOOD, **change}
    if change.get("clarity", 0) is None:
        del answer["clarity"]
    with pytest.raises(AnswerError) as caught:
        every_question_schema().validate_answer(answer, ITEM)
    assert message in str(caught.value)


def test_conditional_question_is_skipped_when_condition_fails():
    answer = {**GOOD, "inappropriate": "no"}
    del answer["category"]
    clean = every_question_schema().validate_answer(answer, ITEM)
    assert "category" not in clean
    # and required when the condition holds
    answer["inappropriate"] = "yes"
    with pytest.raises(AnswerError, match="'category' is required"):
        every_question_schema().validate_answer(answer, ITEM)


def test_empty_lists_mean_none_of_these():
    answer = {**GOOD, "tags": [], "errors": [], "category": []}
    clean = every_question_schema().validate_answer(answer, ITEM)
    assert clean["tags"] == [] and clean["errors"] == [] and clean["category"] == []


def test_optional_question_may_be_left_out():
    answer = dict(GOOD)
    del answer["comment"]
    assert "comment" not in every_question_schema().validate_answer(answer, ITEM)


def test_all_problems_are_listed_at_once():
    with pytest.raises(AnswerError) as caught:
        every_question_schema().validate_answer({"clarity": 9}, ITEM)
    problems = caught.value.problems
    assert any("clarity" in p for p in problems)
    assert any("'score' is required" in p for p in problems)
    assert len(problems) >= 5


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_schema_round_trips_through_files(tmp_path, suffix):
    schema = every_question_schema()
    path = schema.save(tmp_path / f"schema{suffix}")
    assert Schema.load(path) == schema
    text = path.read_text()
    assert "violence/graphic" in text and "type" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"fields": [], "questions": []}, "at least one field and one question"),
        (
            {
                "fields": [{"type": "text", "name": "t"}],
                "questions": [{"type": "label", "name": "t", "labels": ["a"]}],
            },
            "unique",
        ),
        (
            {
                "fields": [{"type": "text", "name": "t"}],
                "questions": [{"type": "label", "name": "q", "labels": []}],
            },
            "at least one label",
        ),
        (
            {
                "fields": [{"type": "text", "name": "t"}],
                "questions": [{"type": "rating", "name": "q", "min": 3, "max": 1}],
            },
            "not a valid scale",
        ),
        (
            {
                "fields": [{"type": "text", "name": "t"}],
                "questions": [{"type": "spans", "name": "q", "field": "x", "labels": ["e"]}],
            },
            "needs a text field",
        ),
        (
            {
                "fields": [{"type": "text", "name": "t"}],
                "questions": [
                    {
                        "type": "label",
                        "name": "q",
                        "labels": ["a"],
                        "when": {"question": "later", "equals": "a"},
                    },
                    {"type": "label", "name": "later", "labels": ["a"]},
                ],
            },
            "must be an earlier question",
        ),
        ({"fields": [{"type": "video", "name": "t"}], "questions": []}, "fields.0"),
        ({"fields": [{"type": "text", "name": "Bad Name"}], "questions": []}, "must be lower case"),
    ],
)
def test_invalid_schemas_are_rejected_clearly(data, message):
    with pytest.raises(SchemaError) as caught:
        Schema.from_dict(data, source="my.yaml")
    assert "my.yaml" in str(caught.value)
    assert message in str(caught.value)


def test_unreadable_schema_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("fields: [unclosed")
    with pytest.raises(SchemaError, match="cannot read"):
        Schema.load(path)
