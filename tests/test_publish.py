"""Publishing labels as Hugging Face datasets: every view of every template goes through a real
`datasets.load_dataset` round trip; the Hub is the only thing mocked (it cannot be reached)."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import datasets
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from huggingface_hub import DatasetCard

from labelkit import Project
from labelkit.cli import cli
from labelkit.demo import demo_data
from labelkit.errors import InputError, LabelkitError
from labelkit.publish import make_view, views_for
from labelkit.publish.encode import BatchEncoder, RawJSON
from labelkit.publish.rows import REJECTED
from labelkit.schema import (
    ChatField,
    LabelQuestion,
    MarkdownField,
    PreferenceQuestion,
    Schema,
    TextField,
)
from labelkit.store.tables import annotations, items, reviews
from labelkit.team.accounts import AccessDenied
from labelkit.templates import TEMPLATES
from tests.samples import sample_answer

ANNOTATORS = ["ana", "ben", "chloe"]
ITEMS_ANSWERED = 8  # of each demo set's non-gold items; the rest stay unlabelled


def labelled_project(path: Path, template: str, seed: int = 0) -> Project:
    """The template's demo set with scripted answers: each of the first ITEMS_ANSWERED non-gold
    items answered by two or three annotators, one skip, and an edit (a second version)."""
    project = Project.create(path, template, overlap=3)
    project.import_items(demo_data(template), id_column="id", progress=False)
    rng = random.Random(seed)
    gold_keys = gold_item_keys(project)
    keys = [row["key"] for row in item_rows(project) if row["key"] not in gold_keys]
    for key in keys[:ITEMS_ANSWERED]:
        data = project.item(key).data
        for annotator in ANNOTATORS[: rng.choice([2, 3])]:
            project.submit(key, sample_answer(project.schema, data, rng), annotator=annotator)
    first = project.item(keys[0])
    project.submit(first, sample_answer(project.schema, first.data, rng), annotator="ana")
    project.submit(keys[ITEMS_ANSWERED], status="skipped", annotator="ben")
    # A gold item answered too: it must stay out of every default view.
    gold_key = sorted(gold_keys)[0]
    gold_data = project.item(gold_key).data
    project.submit(gold_key, sample_answer(project.schema, gold_data, rng), annotator="ana")
    return project


def item_rows(project: Project) -> list[dict]:
    with project.store.reading() as conn:
        rows = conn.execute(sa.select(items.c.key, items.c.data).order_by(items.c.id)).all()
    return [dict(row._mapping) for row in rows]


def gold_item_keys(project: Project) -> set[str]:
    from labelkit.store.tables import gold

    with project.store.reading() as conn:
        query = sa.select(items.c.key).join(gold, gold.c.item_id == items.c.id)
        return set(conn.execute(query).scalars())


def current_answers(project: Project) -> list[dict]:
    frame = project.annotations(current_only=True)
    return frame.to_dict("records")


def decoded(dataset: datasets.Dataset) -> list[dict]:
    """Rows with class labels as their names (what a user reads)."""
    features = dataset.features
    return [{k: as_names(features[k], v) for k, v in row.items()} for row in dataset]


def assert_same_rows(left: list[dict], right: list[dict]) -> None:
    assert len(left) == len(right)
    for index, (a, b) in enumerate(zip(left, right, strict=True)):
        for column in a:
            assert a[column] == b[column], f"row {index} ({a.get('item_id')}), column {column}"


def as_names(feature, value):
    """ClassLabel ints back to names, through lists and structs."""
    if value is None:
        return None
    if isinstance(feature, datasets.ClassLabel):
        return feature.int2str(value)
    if isinstance(feature, datasets.List):
        return [as_names(feature.feature, v) for v in value]
    if isinstance(feature, dict):
        return {k: as_names(feature[k], value[k]) for k in feature}
    return value


@pytest.fixture(scope="module", autouse=True)
def _datasets_cache(tmp_path_factory):
    """datasets read its cache folder when first imported (before the session's HOME): point it
    at a temporary folder, so these tests neither read nor fill the real cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.mktemp("hf-cache"))
        yield


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Per template: the labelled project and its published folder (every view it supports),
    made once for the module."""
    made: dict[str, tuple[Project, Path]] = {}

    def get(template: str) -> tuple[Project, Path]:
        if template not in made:
            base = tmp_path_factory.mktemp(template)
            project = labelled_project(base / "project", template)
            out = base / "release"
            project.publish(out, views=PUBLISHED(project.schema), progress=False)
            made[template] = (project, out)
        return made[template]

    yield get
    for project, _ in made.values():
        project.close()


def PUBLISHED(schema):
    """Every view the schema supports (consensus once labelkit.quality is there)."""
    return views_for(schema)


VIEW_CASES = [
    (template, view) for template in TEMPLATES for view in PUBLISHED(TEMPLATES[template]())
]


# ---------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(("template", "view"), VIEW_CASES, ids=[f"{t}-{v}" for t, v in VIEW_CASES])
def test_load_dataset_returns_exactly_the_published_rows_and_features(released, template, view):
    project, out = released(template)
    loaded = datasets.load_dataset(str(out), view)
    assert list(loaded) == ["train"]
    built = project.to_dataset(view)
    assert loaded["train"].features == built.features
    assert_same_rows(decoded(loaded["train"]), decoded(built))

    per_item = len(item_rows(project)) - len(gold_item_keys(project))
    expected_rows = {"raw": per_item, "ratings": per_item, "consensus": per_item}
    if view == "preference":  # one row per non-tie answer (two options)
        gold_keys = gold_item_keys(project)
        expected_rows[view] = sum(
            1
            for a in current_answers(project)
            if a["item"] not in gold_keys
            and a["status"] == "submitted"
            and a["answer"]["preference"]["choice"] != "tie"
        )
    assert loaded["train"].num_rows == expected_rows[view]


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_raw_view_holds_every_current_answer_typed(released, template):
    project, out = released(template)
    dataset = datasets.load_dataset(str(out), "raw")["train"]
    for field in project.schema.fields:
        if field.type == "image":  # compared undecoded: no need to open every image here
            dataset = dataset.cast_column(field.name, datasets.Image(decode=False))
    gold_keys = gold_item_keys(project)
    expected = {}
    for a in current_answers(project):
        if a["item"] in gold_keys:
            continue
        for name, value in (a["answer"] or {}).items():
            expected.setdefault((a["item"], name), []).append((a["annotator"], value))
    seen = {}
    for row in dataset:
        assert row["item_id"] not in gold_keys
        for q in project.schema.questions:
            feature = dataset.features[f"{q.name}.responses"].feature
            values = [as_names(feature, v) for v in row[f"{q.name}.responses"]]
            users = row[f"{q.name}.responses.users"]
            if values:
                seen[(row["item_id"], q.name)] = list(zip(users, values, strict=True))
            assert set(row[f"{q.name}.responses.status"]) <= {"submitted"}
    # Span severities are None when absent: compare through the same normalisation.
    assert _normalised(seen) == _normalised(expected)


def _normalised(answers: dict) -> dict:
    return {
        key: sorted(json.dumps(v, sort_keys=True) for v in values)
        for key, values in answers.items()
    }


def test_features_are_typed_for_training_code(released):
    project, out = released("classification")
    features = datasets.load_dataset(str(out), "raw")["train"].features
    labels = project.schema.question("label").labels
    assert features["label.responses"] == datasets.List(datasets.ClassLabel(names=labels))

    project, out = released("chatbot-rating")
    raw = datasets.load_dataset(str(out), "raw")["train"]
    assert raw.features["conversation"] == datasets.List(
        {"role": datasets.Value("string"), "content": datasets.Value("string")}
    )
    ratings = datasets.load_dataset(str(out), "ratings")["train"].features
    for name in ("accuracy", "clarity", "overall"):
        assert ratings[name] == datasets.Value("int64")
    assert isinstance(raw.features["bias.responses"].feature, datasets.ClassLabel)


def test_images_travel_inside_the_dataset(released, tmp_path):
    project, out = released("image-validation")
    raw = datasets.load_dataset(str(out), "raw")["train"]
    assert raw.features["image"] == datasets.Image()
    row = raw[0]
    original = Path(project.item(row["item_id"]).data["image"])
    undecoded = raw.cast_column("image", datasets.Image(decode=False))[0]["image"]
    assert undecoded["bytes"] == original.read_bytes()  # no path pointing back at this machine
    from PIL import Image

    with Image.open(original) as image:
        assert row["image"].size == image.size


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_batch_encoding_matches_datasets_own_encoding(released, template):
    """Shards are encoded by labelkit's BatchEncoder (fast, columnar); datasets' own per-example
    encoding of the same rows must give the same dataset."""
    from datasets.table import InMemoryTable

    project, _ = released(template)
    for name in PUBLISHED(project.schema):
        shape = make_view(project, name)
        rows = list(shape.rows())
        ours = datasets.Dataset(InMemoryTable(BatchEncoder(shape.features).table(rows)))
        theirs = datasets.Dataset.from_list([_parsed(r) for r in rows], features=shape.features)
        assert ours.features == theirs.features
        assert_same_rows(decoded(ours), decoded(theirs))


def _parsed(value):
    """Stored JSON text (copied as is by the encoder) as the object datasets expects."""
    if isinstance(value, RawJSON):
        return json.loads(value)
    if isinstance(value, dict):
        return {k: _parsed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_parsed(v) for v in value]
    return value


def test_views_without_rows_are_left_out_of_the_release(tmp_path):
    project = Project.create(tmp_path / "p", "pairwise-preference")
    project.import_items(demo_data("pairwise-preference"), id_column="id", progress=False)
    out = tmp_path / "release"
    report = project.publish(out, views=["preference", "raw"], progress=False)
    assert report.empty == ["preference"]
    assert "left out, no rows yet: preference" in str(report)
    card = DatasetCard.load(out / "README.md").data.to_dict()
    assert [c["config_name"] for c in card["configs"]] == ["raw"]
    assert card["configs"][0]["default"] is True
    raw = datasets.load_dataset(str(out))["train"]  # the default config
    assert raw.num_rows == 40 - len(gold_item_keys(project))
    assert project.to_dataset("preference").num_rows == 0  # in a notebook: an empty Dataset
    with pytest.raises(LabelkitError, match="nothing to publish"):
        project.publish(tmp_path / "other", views=["preference"], progress=False)
    assert not (tmp_path / "other").exists()
    project.close()


# ---------------------------------------------------------------------------- filters


def test_gold_items_are_left_out_unless_asked_for(released):
    project, out = released("moderation")
    gold_keys = gold_item_keys(project)
    assert gold_keys
    raw = project.to_dataset("raw")
    assert not gold_keys & set(raw["item_id"])
    with_gold = project.to_dataset("raw", include_gold=True)
    assert gold_keys <= set(with_gold["item_id"])
    gold_rows = [row for row in with_gold if row["item_id"] in gold_keys]
    assert all(row["gold"] for row in gold_rows)
    answered = next(row for row in gold_rows if row["annotations"])
    assert answered["annotations"][0]["annotator"] == "ana"
    card = (out / "README.md").read_text()
    assert f"{len(raw)} items" in card  # the card counts what was published


def test_rejected_answers_are_left_out_unless_asked_for(tmp_path):
    project = Project.create(tmp_path / "p", "classification")
    project.import_items(demo_data("classification"), id_column="id", progress=False)
    key = next(r["key"] for r in item_rows(project) if r["key"] not in gold_item_keys(project))
    project.submit(key, {"label": "billing"}, annotator="ana")
    project.submit(key, {"label": "account"}, annotator="ben")
    # A reviewer's rejection: a review whose newest verdict is "rejected" (a first, accepting
    # verdict is overruled).
    reviewer = project.store.annotator_id("lead", role="reviewer")
    with project.store.writing() as conn:
        ben_answer = conn.execute(
            sa.select(annotations.c.id).order_by(annotations.c.id.desc()).limit(1)
        ).scalar_one()
        for verdict in ("accepted", REJECTED):
            conn.execute(
                reviews.insert().values(
                    annotation_id=ben_answer, reviewer_id=reviewer, verdict=verdict
                )
            )

    def answers_of(dataset):
        row = next(r for r in decoded(dataset) if r["item_id"] == key)
        return row["label.responses.users"], row["label.responses.status"]

    assert answers_of(project.to_dataset("raw")) == (["ana"], ["submitted"])
    assert answers_of(project.to_dataset("raw", include_rejected=True)) == (
        ["ana", "ben"],
        ["submitted", "rejected"],
    )
    project.close()


# ---------------------------------------------------------------------------- preference


def _preference_project(path: Path, prompt_field) -> Project:
    schema = Schema(
        title="chat preference",
        kind="custom",
        fields=[prompt_field, MarkdownField(name="a"), MarkdownField(name="b")],
        questions=[
            PreferenceQuestion(name="better", options=["a", "b"], strengths=["slightly", "much"])
        ],
    )
    project = Project.create(path, schema)
    prompt = (
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ]
        if prompt_field.type == "chat"
        else "Capital of France?"
    )
    import pandas as pd

    project.import_items(
        pd.DataFrame(
            [
                {"id": "q1", prompt_field.name: prompt, "a": "Paris.", "b": "Lyon."},
                {"id": "q2", prompt_field.name: prompt, "a": "It is Paris.", "b": "Paris."},
            ]
        ),
        id_column="id",
        progress=False,
    )
    project.submit("q1", {"better": {"choice": "a", "strength": "much"}}, annotator="ana")
    project.submit("q1", {"better": {"choice": "b", "strength": "slightly"}}, annotator="ben")
    project.submit("q2", {"better": {"choice": "tie"}}, annotator="ana")
    return project


def test_preference_pairs_are_trl_ready_and_ties_optional(tmp_path):
    project = _preference_project(tmp_path / "p", TextField(name="question"))
    pairs = decoded(project.to_dataset("preference"))
    assert [
        (p["prompt"], p["chosen"], p["rejected"], p["strength"], p["annotator"]) for p in pairs
    ] == [
        ("Capital of France?", "Paris.", "Lyon.", "much", "ana"),
        ("Capital of France?", "Lyon.", "Paris.", "slightly", "ben"),
    ]
    with_ties = decoded(project.to_dataset("preference", keep_ties=True))
    assert len(with_ties) == 3
    tie = with_ties[-1]
    assert (tie["item_id"], tie["tie"], tie["strength"]) == ("q2", True, None)
    assert {tie["chosen"], tie["rejected"]} == {"It is Paris.", "Paris."}
    project.close()


def test_preference_with_a_chat_prompt_is_conversational(tmp_path):
    project = _preference_project(tmp_path / "p", ChatField(name="conversation"))
    out = tmp_path / "release"
    project.publish(out, views=["preference"], progress=False)
    row = datasets.load_dataset(str(out), "preference")["train"][0]
    assert row["prompt"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert row["chosen"] == [{"role": "assistant", "content": "Paris."}]
    assert row["rejected"] == [{"role": "assistant", "content": "Lyon."}]
    project.close()


# ---------------------------------------------------------------------------- ratings


def test_ratings_are_helpsteer_integers_per_item(released):
    project, _ = released("chatbot-rating")
    ratings = {row["item_id"]: row for row in project.to_dataset("ratings")}
    gold_keys = gold_item_keys(project)
    by_item: dict[str, list[dict]] = {}
    for a in current_answers(project):
        if a["status"] == "submitted" and a["item"] not in gold_keys:
            by_item.setdefault(a["item"], []).append(a["answer"])
    assert by_item
    for key, answers in by_item.items():
        row = ratings[key]
        assert row["n_annotators"] == len(answers)
        for name in ("accuracy", "clarity", "overall"):
            assert row[name] == statistics.median_low(a[name] for a in answers)
    unanswered = next(row for key, row in ratings.items() if key not in by_item)
    assert unanswered["accuracy"] is None and unanswered["n_annotators"] == 0


def test_translation_scores_z_normalised_and_error_spans(tmp_path):
    project = Project.create(tmp_path / "p", "translation")
    import pandas as pd

    project.import_items(
        pd.DataFrame(
            {
                "id": ["t1", "t2"],
                "source": ["Hello.", "Thanks."],
                "translation": ["Bonjour.", "Merci."],
            }
        ),
        id_column="id",
        progress=False,
    )
    minor = {"start": 0, "end": 3, "label": "style", "severity": "minor"}
    major = {"start": 0, "end": 5, "label": "accuracy", "severity": "major"}
    # ana scores 80 and 60 (mean 70, sd 10); ben scores 90 and 90 (sd 0: z = 0).
    project.submit("t1", {"errors": [minor], "score": 80}, annotator="ana")
    project.submit("t2", {"errors": [major, minor], "score": 60}, annotator="ana")
    project.submit("t1", {"errors": [], "score": 90}, annotator="ben")
    project.submit("t2", {"errors": [major], "score": 90}, annotator="ben")
    out = tmp_path / "release"
    project.publish(out, views=["ratings"], progress=False)
    rows = {r["item_id"]: r for r in datasets.load_dataset(str(out), "ratings")["train"]}
    assert rows["t1"]["score"] == 80 and rows["t2"]["score"] == 60  # median_low of two
    assert rows["t1"]["score_z"] == pytest.approx((1.0 + 0.0) / 2)
    assert rows["t2"]["score_z"] == pytest.approx((-1.0 + 0.0) / 2)
    assert rows["t1"]["errors_score"] == pytest.approx((99 + 100) / 2)
    assert rows["t2"]["errors_score"] == pytest.approx((94 + 95) / 2)
    per_answer = project.to_dataset("ratings", per="answer")
    assert sorted(zip(per_answer["annotator"], per_answer["errors_score"], strict=True)) == [
        ("ana", 94),
        ("ana", 99),
        ("ben", 95),
        ("ben", 100),
    ]
    project.close()


# ---------------------------------------------------------------------------- splits


def test_random_splits_are_seeded_and_keep_an_items_rows_together(released, tmp_path):
    project, _ = released("pairwise-preference")
    fractions = {"train": 0.5, "test": 0.5}
    first = project.to_dataset("preference", split=fractions, seed=3, keep_ties=True)
    again = project.to_dataset("preference", split=fractions, seed=3, keep_ties=True)
    other = project.to_dataset("preference", split=fractions, seed=4, keep_ties=True)
    assert set(first) == {"train", "test"}
    assert first["train"]["item_id"] == again["train"]["item_id"]
    train, test = set(first["train"]["item_id"]), set(first["test"]["item_id"])
    assert train and test and not train & test
    everything = project.to_dataset("preference", keep_ties=True)
    assert sorted([*first["train"]["item_id"], *first["test"]["item_id"]]) == sorted(
        everything["item_id"]
    )
    assert set(other["train"]["item_id"]) != train

    out = tmp_path / "release"
    project.publish(out, views=["raw"], split=fractions, seed=3, progress=False)
    loaded = datasets.load_dataset(str(out), "raw")
    raw = project.to_dataset("raw", split=fractions, seed=3)
    assert {name: loaded[name]["item_id"] for name in loaded} == {
        name: raw[name]["item_id"] for name in raw
    }


def test_split_by_a_column(released, tmp_path):
    project, _ = released("translation")
    by_language = project.to_dataset("raw", split_by="language")
    languages = {r["key"]: project.item(r["key"]).language for r in item_rows(project)}
    assert set(by_language) == {
        lang for key, lang in languages.items() if key not in gold_item_keys(project)
    }
    for name, split in by_language.items():
        assert {languages[key] for key in split["item_id"]} == {name}


def test_bad_split_options_are_clear_errors(released):
    project, _ = released("classification")
    with pytest.raises(LabelkitError, match="add up to 1"):
        project.to_dataset("raw", split={"train": 0.5, "test": 0.2})
    with pytest.raises(LabelkitError, match="no column 'nope'"):
        project.to_dataset("raw", split_by="nope")
    with pytest.raises(LabelkitError, match="unknown view"):
        project.to_dataset("everything")
    with pytest.raises(LabelkitError, match="needs a preference question"):
        project.to_dataset("preference")
    with pytest.raises(LabelkitError, match="takes no option"):
        project.to_dataset("raw", per="answer")


def test_to_dataset_sees_new_answers(tmp_path):
    project = Project.create(tmp_path / "p", "classification")
    project.import_items(demo_data("classification"), id_column="id", progress=False)
    key = next(r["key"] for r in item_rows(project) if r["key"] not in gold_item_keys(project))
    project.submit(key, {"label": "billing"}, annotator="ana")
    assert project.to_dataset("raw").filter(lambda r: r["item_id"] == key)[0][
        "label.responses"
    ] == [0]
    project.submit(key, {"label": "account"}, annotator="ana")  # an edit: a new version
    labels = project.schema.question("label").labels
    row = project.to_dataset("raw").filter(lambda r: r["item_id"] == key)[0]
    assert row["label.responses"] == [labels.index("account")]
    project.close()


# ---------------------------------------------------------------------------- card


def test_dataset_card_header_and_body(released):
    project, out = released("moderation")
    card = DatasetCard.load(out / "README.md")
    data = card.data.to_dict()
    for key in (
        "license",
        "language",
        "task_categories",
        "tags",
        "size_categories",
        "pretty_name",
        "annotations_creators",
        "configs",
    ):
        assert data.get(key), key
    assert [c["config_name"] for c in data["configs"]] == PUBLISHED(project.schema)
    assert data["configs"][0]["default"] is True
    assert set(data["language"]) == {"en", "fr"}
    assert data["size_categories"] == ["n<1K"]
    body = card.text
    assert "Decide whether the content breaks the policy" in body  # the guidelines
    answers = [a for a in current_answers(project) if a["item"] not in gold_item_keys(project)]
    annotators = {a["annotator"] for a in answers if a["status"] == "submitted"}
    assert f"**{len(annotators)} annotators**" in body
    actions = [a["answer"]["action"] for a in answers if a["status"] == "submitted"]
    for action in set(actions):
        assert f"| {action} | {actions.count(action)} |" in body


def test_card_escapes_hostile_labels(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    schema = Schema(
        title="<script>alert(1)</script>",
        kind="custom",
        guidelines="Be careful <script>alert(2)</script> **bold** stays.",
        fields=[TextField(name="text")],
        questions=[LabelQuestion(name="label", labels=[hostile, "ok|fine"])],
    )
    project = Project.create(tmp_path / "p", schema)
    import pandas as pd

    project.import_items(pd.DataFrame({"text": ["a"]}), progress=False)
    project.submit(project.next_item("ana"), {"label": hostile}, annotator="ana")
    out = tmp_path / "release"
    project.publish(out, views=["raw"], progress=False)
    text = DatasetCard.load(out / "README.md").text  # the body; the YAML header is data
    assert "<script>" not in text and "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "ok\\|fine" in text
    assert "**bold** stays" in text
    row = datasets.load_dataset(str(out), "raw")["train"]
    assert row.features["label.responses"].feature.names == [hostile, "ok|fine"]  # data intact
    project.close()


# ---------------------------------------------------------------------------- publishing


def test_cli_publish_and_push(released, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    project, _ = released("classification")
    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, *a, **k: calls.append(("create", a, k)))

    def upload_folder(self, **kwargs):
        calls.append(("upload", (), kwargs))
        assert (Path(kwargs["folder_path"]) / "README.md").is_file()  # complete when pushed

    monkeypatch.setattr(HfApi, "upload_folder", upload_folder)
    out = tmp_path / "release"
    args = ["publish", str(project.path), str(out), "--view", "raw", "--split", "train=0.75"]
    args += ["--split", "test=0.25", "--push", "me/labels", "--private", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "pushed to me/labels" in result.output
    loaded = datasets.load_dataset(str(out), "raw")
    assert set(loaded) == {"train", "test"}
    assert [c[0] for c in calls] == ["create", "upload"]
    assert calls[0][1] == ("me/labels",)
    assert calls[0][2] == {"repo_type": "dataset", "private": True, "exist_ok": True}
    assert calls[1][2]["repo_id"] == "me/labels"
    assert calls[1][2]["repo_type"] == "dataset"
    assert Path(calls[1][2]["folder_path"]) == out


def test_cli_refuses_to_overwrite_a_folder_that_is_not_a_release(released, tmp_path):
    project, _ = released("classification")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    result = CliRunner().invoke(cli, ["publish", str(project.path), str(out), "--quiet"])
    assert result.exit_code == 2
    assert "not a labelkit release" in result.output
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_failed_publish_keeps_the_previous_release(released, tmp_path, monkeypatch):
    project, _ = released("classification")
    out = tmp_path / "release"
    project.publish(out, views=["raw"], progress=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    from labelkit.publish import views as views_module

    def broken_rows(self):
        yield from []
        raise OSError("disk full")

    monkeypatch.setattr(views_module.RawView, "rows", broken_rows)
    with pytest.raises(OSError, match="disk full"):
        project.publish(out, views=["raw"], progress=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["release"]  # no half-built folder left


def test_push_failure_is_a_clear_error(released, tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    def offline(self, *args, **kwargs):
        raise ConnectionError("no route to huggingface.co")

    monkeypatch.setattr(HfApi, "create_repo", offline)
    project, _ = released("classification")
    out = tmp_path / "release"
    with pytest.raises(LabelkitError, match="push to me/labels failed"):
        project.publish(out, views=["raw"], push_to="me/labels", progress=False)
    assert (out / "README.md").is_file()


# ---------------------------------------------------------------------------- re-import


def test_reimport_brings_items_and_answers_back_and_labeling_continues(released, tmp_path):
    project, out = released("chatbot-rating")
    copy = Project.create(tmp_path / "copy", out / "labelkit-schema.json", overlap=project.overlap)
    report = copy.import_published(out, progress=False)
    gold_keys = gold_item_keys(project)
    expected = [a for a in current_answers(project) if a["item"] not in gold_keys]
    assert report.items_added == len(item_rows(project)) - len(gold_keys)
    assert report.answers_added == len(expected)

    def answers(p):
        return sorted(
            (a["item"], a["annotator"], a["status"], json.dumps(a["answer"], sort_keys=True))
            for a in current_answers(p)
        )

    assert answers(copy) == sorted(
        (a["item"], a["annotator"], a["status"], json.dumps(a["answer"], sort_keys=True))
        for a in expected
    )
    assert copy.import_published(out, progress=False).answers_added == 0  # idempotent
    # Labeling continues where it stopped: progress as in the original (gold aside), and each
    # annotator is served an item they have not done that still needs answers.
    submitted: dict[str, int] = {}
    for a in expected:
        if a["status"] == "submitted":
            submitted[a["item"]] = submitted.get(a["item"], 0) + 1
    complete = {key for key, n in submitted.items() if n >= copy.overlap}
    assert complete and copy.progress()["complete"] == len(complete)
    for annotator in ANNOTATORS:
        resumed = copy.next_item(annotator)
        assert resumed is not None
        done = {a["item"] for a in current_answers(copy) if a["annotator"] == annotator}
        assert resumed.key not in done | complete
    copy.close()


def test_reimport_keeps_the_answers_of_a_suspended_annotator(released, tmp_path):
    """Importing history is never refused: the author's suspension applies to new work only."""
    project, out = released("chatbot-rating")
    copy = Project.create(tmp_path / "copy", out / "labelkit-schema.json", overlap=project.overlap)
    copy.annotators.add("ana")
    copy.annotators.suspend("ana", reason="too many rejections")
    report = copy.import_published(out, progress=False)
    gold_keys = gold_item_keys(project)
    mine = [a for a in current_answers(project) if a["annotator"] == "ana"]
    expected = [a for a in mine if a["item"] not in gold_keys]
    assert expected and report.answers_added >= len(expected)
    assert sorted(a["item"] for a in current_answers(copy) if a["annotator"] == "ana") == sorted(
        a["item"] for a in expected
    )
    assert copy.annotators.get("ana").status == "suspended"  # unchanged by the import
    new_item = next(row["key"] for row in item_rows(project) if row["key"] not in gold_keys)
    with pytest.raises(AccessDenied):  # live answers stay refused
        copy.submit(new_item, status="skipped", annotator="ana")
    copy.close()


def test_reimport_into_a_project_with_another_schema_is_refused(released, tmp_path):
    _, out = released("chatbot-rating")
    other = Project.create(tmp_path / "other", "classification")
    with pytest.raises(InputError, match="differ from the project's"):
        other.import_published(out, progress=False)
    assert other.progress()["items"] == 0
    other.close()


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_publish_from_postgresql(tmp_path, postgres_url):
    project = Project.create(tmp_path / "p", "pairwise-preference", db_url=postgres_url)
    project.import_items(demo_data("pairwise-preference"), id_column="id", progress=False)
    rng = random.Random(1)
    keys = [r["key"] for r in item_rows(project) if r["key"] not in gold_item_keys(project)][:5]
    for key in keys:
        for annotator in ANNOTATORS[:2]:
            data = project.item(key).data
            project.submit(key, sample_answer(project.schema, data, rng), annotator=annotator)
    out = tmp_path / "release"
    project.publish(out, views=["raw", "preference"], keep_ties=True, progress=False)
    raw = datasets.load_dataset(str(out), "raw")["train"]
    assert raw.num_rows == len(item_rows(project)) - len(gold_item_keys(project))
    answered = [r for r in raw if r["annotations"]]
    assert sorted(r["item_id"] for r in answered) == sorted(keys)
    assert datasets.load_dataset(str(out), "preference")["train"].num_rows >= len(keys) * 2
    project.close()


# ---------------------------------------------------------------------------- card agreement


def test_card_states_agreement_per_question_with_its_measure(released):
    from labelkit.quality.agreement import agreement
    from labelkit.quality.tidy import project_answers

    project, out = released("chatbot-rating")
    body = DatasetCard.load(out / "README.md").text
    assert "## Agreement" in body
    # The published answers: gold items' left out.
    answers = project_answers(project)
    answers = answers[~answers["item"].isin(gold_item_keys(project))]
    expected = agreement(answers, project.schema).set_index("question")
    measures = {"label": "nominal", "rating": "ordinal", "taxonomy": "distance 1 - Jaccard"}
    rows = [line for line in body.splitlines() if line.startswith("| `")]
    stated = {line.split("`")[1]: line for line in rows if "Krippendorff" in line}
    assert set(stated) == set(expected.index)  # every measured question; free text is not
    for question, found in expected.iterrows():
        line = stated[question]
        assert f"Krippendorff's alpha ({measures[found['type']]}" in line
        assert f"| {found['alpha']:.3f} |" in line
        assert line.endswith(f"| {found['items']} |")


def test_ratings_view_z_scores_are_the_quality_modules(tmp_path):
    from labelkit.quality.tidy import project_answers, question_table
    from labelkit.quality.translation import z_scores

    project = Project.create(tmp_path / "mt", "translation")
    project.import_items(demo_data("translation"), id_column="id", progress=False)
    rng = random.Random(3)
    keys = [row["key"] for row in item_rows(project) if row["key"] not in gold_item_keys(project)]
    for key in keys[:6]:
        for annotator in ANNOTATORS:
            data = project.item(key).data
            project.submit(key, sample_answer(project.schema, data, rng), annotator=annotator)
    rows = project.to_dataset("ratings", per="answer")
    table = question_table(project_answers(project), "score")
    expected = dict(
        zip(zip(table["item"], table["annotator"], strict=True), z_scores(table), strict=True)
    )
    assert len(rows) == len(expected)
    for row in rows:
        assert row["score_z"] == pytest.approx(expected[(row["item_id"], row["annotator"])])
    project.close()
