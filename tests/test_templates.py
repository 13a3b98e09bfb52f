"""Templates: each is a valid schema, round-trips through YAML, and its demo set imports."""

import pytest
import sqlalchemy as sa

from labelkit import TEMPLATES, Project, Schema, template
from labelkit.demo import demo_data
from labelkit.errors import LabelkitError
from labelkit.store.tables import gold
from labelkit.templates import TAXONOMY_PRESETS, moderation


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_template_round_trips_through_yaml(tmp_path, name):
    schema = template(name)
    assert schema.kind == name and schema.guidelines
    assert Schema.load(schema.save(tmp_path / "s.yaml")) == schema


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_demo_data_imports_with_gold_and_suggestions(tmp_path, name):
    project = Project.create(tmp_path / name, name)
    report = project.import_items(demo_data(name), id_column="id", progress=False)
    progress = project.progress()
    # gold rows are kept out of the work queue (served as honeypots): "items" counts work only
    assert progress["gold_items"] >= 3
    assert report.added == progress["items"] + progress["gold_items"]
    assert progress["items"] >= 20
    item = project.next_item("ana")
    assert set(item.data) == set(project.schema.field_names)
    with project.store.reading() as conn:
        gold_ids = set(conn.execute(sa.select(gold.c.item_id)).scalars())
    assert len(gold_ids) == progress["gold_items"] and item.id not in gold_ids
    project.close()


def test_moderation_presets():
    assert "violence/graphic" in moderation().question("categories").categories
    mlcommons = moderation(taxonomy="mlcommons").question("categories")
    assert mlcommons.categories == TAXONOMY_PRESETS["mlcommons"]
    with pytest.raises(LabelkitError, match="presets"):
        moderation(taxonomy="mine")


def test_classification_with_own_labels():
    schema = template("classification", labels=["spam", "ham"], multiple=True)
    assert schema.validate_answer({"labels": ["spam"]}) == {"labels": ["spam"]}


def test_unknown_template():
    with pytest.raises(LabelkitError, match="templates: chatbot-rating"):
        template("sentiment")


def test_chatbot_template_asks_category_only_when_inappropriate():
    schema = template("chatbot-rating")
    base = {"accuracy": 4, "clarity": 5, "bias": "none", "overall": 4}
    assert "inappropriate_category" not in schema.validate_answer({**base, "inappropriate": "no"})
    answer = schema.validate_answer(
        {**base, "inappropriate": "yes", "inappropriate_category": ["hate/threatening"]}
    )
    assert answer["inappropriate_category"] == ["hate/threatening"]
