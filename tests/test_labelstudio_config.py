"""Schemas <-> Label Studio configs and answers <-> results, without a server."""

from __future__ import annotations

import random

import pytest

from labelkit.labelstudio.config import ConfigError, LabelConfig, schema_to_config
from labelkit.labelstudio.convert import (
    ResultError,
    answer_to_result,
    js_to_py,
    py_to_js,
    result_to_answer,
)
from labelkit.schema import (
    Condition,
    LabelQuestion,
    MarkdownField,
    RankingQuestion,
    RatingQuestion,
    Schema,
    SpanQuestion,
    TextField,
    TextQuestion,
)
from labelkit.templates import TEMPLATES, template
from tests.samples import sample_answer, sample_item

VARIANTS = [
    *[(name, {}) for name in TEMPLATES],
    ("classification", {"multiple": True}),
    ("pairwise-preference", {"strengths": []}),
    ("moderation", {"taxonomy": "mlcommons"}),
]


def ranking_schema() -> Schema:
    return Schema(
        title="Rank",
        fields=[MarkdownField(name="doc", help="the document")],
        questions=[
            RankingQuestion(name="order", options=["fast", "cheap", "good"], title="Best first"),
            SpanQuestion(name="marks", field="doc", labels=["typo"], required=True),
            LabelQuestion(name="ok", labels=["yes", "no", "maybe, later"]),
            RatingQuestion(name="stars", max=10, when=Condition(question="ok", any_of=["yes"])),
            TextQuestion(name="why", max_length=50, when=Condition(question="ok", equals="no")),
        ],
    )


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=[f"{n}{o}" for n, o in VARIANTS])
def test_every_template_config_parses_back_to_the_same_schema(name, options):
    schema = template(name, **options)
    config = LabelConfig.from_schema(schema)
    assert config.schema == schema
    assert set(config.questions) == {q.name for q in schema.questions}


def test_a_schema_with_every_question_type_round_trips():
    schema = ranking_schema()
    config = LabelConfig.from_schema(schema)
    assert config.schema == schema
    xml = config.xml
    assert '<Ranker name="order" toName="order__items"' in xml
    assert 'visibleWhen="choice-selected"' in xml and 'whenChoiceValue="no"' in xml
    # the markdown field that spans mark stays text, so offsets are offsets into the markdown
    assert '<Text name="doc" value="$doc"' in xml
    data = config.task_data({"doc": "**a**"})
    ranked = [{"id": o, "title": o} for o in ["fast", "cheap", "good"]]
    assert data == {"doc": "**a**", "order__items": ranked}


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=[f"{n}{o}" for n, o in VARIANTS])
def test_every_template_answer_survives_results(name, options):
    schema = template(name, **options)
    config = LabelConfig.from_schema(schema)
    rng = random.Random(name)
    for n in range(200):
        item = sample_item(schema, rng, n)
        answer = sample_answer(schema, item, rng)
        result = answer_to_result(config, answer, item)
        back = schema.validate_answer(result_to_answer(config, result, item), item)
        assert back == answer, (answer, result)


def test_result_shapes_are_label_studio_shapes():
    schema = template("pairwise-preference")
    config = LabelConfig.from_schema(schema)
    item = {"prompt": "p", "response_a": "a", "response_b": "b"}
    answer = {"preference": {"choice": "response_b", "strength": "much better"}}
    result = answer_to_result(config, answer, item)
    assert result == [
        {
            "from_name": "preference",
            "to_name": "preference",
            "type": "pairwise",
            "value": {"selected": "right"},
        },
        {
            "from_name": "preference__strength",
            "to_name": "prompt",
            "type": "choices",
            "value": {"choices": ["much better"]},
        },
    ]
    tie = answer_to_result(config, {"preference": {"choice": "tie", "strength": None}}, item)
    assert [r["value"] for r in tie] == [{"choices": ["tie"]}]


def test_span_offsets_count_utf16_units_in_label_studio():
    text = "ok 😀 café 🎉 end"
    assert py_to_js(text, 5) == 6  # after one emoji: one more UTF-16 unit
    assert js_to_py(text, 6) == 5
    assert js_to_py(text, 4) is None  # inside the emoji's surrogate pair
    schema = template("translation")
    config = LabelConfig.from_schema(schema)
    item = {"source": "x", "translation": text}
    answer = {"errors": [{"start": 5, "end": 9, "label": "style", "severity": "minor"}]}
    answer["score"] = 70
    result = answer_to_result(config, answer, item)
    labels = next(r for r in result if r["type"] == "labels")
    assert (labels["value"]["start"], labels["value"]["end"]) == (6, 10)
    assert labels["value"]["text"] == "café"
    assert schema.validate_answer(result_to_answer(config, result, item), item) == answer


def test_markdown_goes_to_label_studio_sanitized():
    schema = template("chatbot-rating")
    config = LabelConfig.from_schema(schema)
    data = config.task_data(
        {
            "conversation": [{"role": "user", "content": "<img src=x onerror=alert(1)>"}],
            "response": "**hi** <script>alert(1)</script> [x](javascript:alert(1))",
        }
    )
    html = data["response"]
    assert "<strong>hi</strong>" in html
    assert "<script" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert "href" not in html  # the javascript: link was refused
    # chat goes as dialogue paragraphs (shown as text by Label Studio)
    assert data["conversation"] == [{"role": "user", "content": "<img src=x onerror=alert(1)>"}]


def test_tags_without_equivalent_are_named():
    xml = """<View>
      <Image name="img" value="$image"/>
      <RectangleLabels name="boxes" toName="img"><Label value="cat"/></RectangleLabels>
      <Audio name="audio" value="$audio"/>
      <Relations><Relation value="near"/></Relations>
      <Choices name="ok" toName="img"><Choice value="yes"/></Choices>
    </View>"""
    with pytest.raises(ConfigError) as caught:
        LabelConfig.parse(xml)
    message = str(caught.value)
    assert "no labelkit equivalent" in message
    for named in ["<RectangleLabels> 'boxes'", "<Audio> 'audio'", "<Relations>"]:
        assert named in message


def test_a_hand_written_label_studio_config_becomes_a_schema():
    xml = """<View>
      <Header value="Review"/>
      <Text name="Review-Text" value="$review"/>
      <Choices name="Sentiment" toName="Review-Text" choice="single" required="true">
        <Choice value="Positive" alias="pos"/><Choice value="Negative" alias="neg"/>
      </Choices>
      <Rating name="stars" toName="Review-Text" maxRating="10"/>
      <View visibleWhen="choice-selected" whenTagName="Sentiment" whenChoiceValue="Negative">
        <TextArea name="why" toName="Review-Text"/>
      </View>
      <Labels name="ner" toName="Review-Text"><Label value="PER"/><Label value="ORG"/></Labels>
      <Taxonomy name="topic" toName="Review-Text">
        <Choice value="Food"><Choice value="Pizza"/><Choice value="Pasta"/></Choice>
        <Choice value="Service"/>
      </Taxonomy>
      <Number name="score" toName="Review-Text" min="0" max="100"/>
    </View>"""
    config = LabelConfig.parse(xml, title="Reviews")
    schema = config.schema
    assert schema.field_names == ["review_text"]
    assert schema.fields[0].title == "Review"
    assert [q.name for q in schema.questions] == [
        "sentiment", "stars", "why", "ner", "topic", "score",
    ]  # fmt: skip
    assert schema.question("sentiment").labels == ["Positive", "Negative"]
    assert schema.question("why").when == Condition(question="sentiment", equals="Negative")
    assert schema.question("topic").categories == ["Food/Pizza", "Food/Pasta", "Service"]
    assert (schema.question("score").min, schema.question("score").max) == (0, 100)
    assert config.fields["review_text"].key == "review"

    item = config.item_data({"review": "Bob works at ACME."})
    assert item == {"review_text": "Bob works at ACME."}
    result = [
        {"from_name": "Sentiment", "to_name": "Review-Text", "type": "choices",
         "value": {"choices": ["neg"]}},
        {"from_name": "why", "to_name": "Review-Text", "type": "textarea",
         "value": {"text": ["too slow"]}},
        {"id": "r1", "from_name": "ner", "to_name": "Review-Text", "type": "labels",
         "value": {"start": 0, "end": 3, "text": "Bob", "labels": ["PER"]}},
        {"from_name": "topic", "to_name": "Review-Text", "type": "taxonomy",
         "value": {"taxonomy": [["Food", "Pizza"], ["Service"]]}},
        {"from_name": "stars", "to_name": "Review-Text", "type": "rating",
         "value": {"rating": 3}},
        {"from_name": "score", "to_name": "Review-Text", "type": "number",
         "value": {"number": 40}},
    ]  # fmt: skip
    answer = schema.validate_answer(result_to_answer(config, result, item), item)
    assert answer == {
        "sentiment": "Negative",
        "stars": 3,
        "why": "too slow",
        "ner": [{"start": 0, "end": 3, "label": "PER", "severity": None}],
        "topic": ["Food/Pizza", "Service"],
        "score": 40,
    }


def test_unreadable_results_are_reported():
    schema = template("classification")
    config = LabelConfig.from_schema(schema)
    item = {"text": "t"}
    with pytest.raises(ResultError, match="not a control of the config"):
        result_to_answer(config, [{"from_name": "nope", "value": {}}], item)
    with pytest.raises(ResultError, match="2 choices, expected one"):
        result_to_answer(
            config, [{"from_name": "label", "value": {"choices": ["billing", "account"]}}], item
        )
    with pytest.raises(ResultError, match="must be a list"):
        result_to_answer(config, {"oops": 1}, item)
    # a readable result with an unknown label is for the schema to refuse
    answer = result_to_answer(config, [{"from_name": "label", "value": {"choices": ["x"]}}], item)
    with pytest.raises(Exception, match="not one of the labels"):
        schema.validate_answer(answer, item)


def test_conditions_label_studio_cannot_show_are_refused():
    schema = Schema(
        fields=[TextField(name="text")],
        questions=[
            RatingQuestion(name="stars"),
            TextQuestion(name="why", when=Condition(question="stars", equals=1)),
        ],
    )
    with pytest.raises(ConfigError, match="'why' depends on 'stars'"):
        schema_to_config(schema)


def test_bad_xml_is_a_clear_error():
    with pytest.raises(ConfigError, match="not valid XML"):
        LabelConfig.parse("<View><Text name='t'")
    with pytest.raises(ConfigError, match="must read task data"):
        LabelConfig.parse('<View><Text name="t" value="plain"/></View>')
