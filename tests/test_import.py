"""Import from every format; optional columns; bad input leaves the store unchanged; resume."""

import json

import datasets
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import labelkit.ingest
from labelkit import InputError, Project

ROWS = [
    {"id": "t1", "text": "I was charged twice this month", "language": "en"},
    {"id": "t2", "text": "L'application plante au démarrage 😢", "language": "fr"},
    {"id": "t3", "text": "How do I change my e-mail address?", "language": "en"},
]


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "project", "classification")
    yield project
    project.close()


def snapshot(project):
    """Everything a user could see of the store: item keys with data, gold, answers."""
    with project.store.reading() as conn:
        tables = {
            name: conn.exec_driver_sql(f"SELECT * FROM {name} ORDER BY 1").all()
            for name in ("items", "gold", "annotations", "imports")
        }
    return {name: [tuple(r) for r in rows] for name, rows in tables.items()}


def write(tmp_path, kind, rows):
    frame = pd.DataFrame(rows)
    path = tmp_path / f"items.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    elif kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def sources(tmp_path):
    """The same rows in every supported form."""
    dataset = datasets.Dataset.from_list(ROWS)
    dataset.save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"train": dataset, "test": dataset.select([0])}).save_to_disk(
        str(tmp_path / "saved_dict")
    )
    return {
        "dataframe": (pd.DataFrame(ROWS), {}),
        "csv": (write(tmp_path, "csv", ROWS), {}),
        "jsonl": (write(tmp_path, "jsonl", ROWS), {}),
        "parquet": (write(tmp_path, "parquet", ROWS), {}),
        "dataset": (dataset, {}),
        "datasetdict": (datasets.DatasetDict({"train": dataset}), {"split": "train"}),
        "save_to_disk": (tmp_path / "saved", {}),
        "save_to_disk_split": (tmp_path / "saved_dict", {"split": "train"}),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "dataframe",
        "csv",
        "jsonl",
        "parquet",
        "dataset",
        "datasetdict",
        "save_to_disk",
        "save_to_disk_split",
    ],
)
def test_every_format_imports_the_same_items(project, tmp_path, kind):
    data, options = sources(tmp_path)[kind]
    report = project.import_items(data, id_column="id", progress=False, **options)
    assert (report.rows, report.added) == (3, 3)
    item = project.item("t2")
    assert item.data == {"text": ROWS[1]["text"]}
    assert item.language == "fr"
    assert project.progress()["items"] == 3


def test_reimport_adds_nothing(project, tmp_path):
    path = write(tmp_path, "jsonl", ROWS)
    project.import_items(path, id_column="id", progress=False)
    before = snapshot(project)["items"]
    report = project.import_items(path, id_column="id", progress=False)
    assert (report.added, report.unchanged) == (0, 3)
    assert snapshot(project)["items"] == before


def test_content_hash_ids_are_stable_across_formats(project, tmp_path):
    rows = [{"text": r["text"]} for r in ROWS]
    project.import_items(write(tmp_path, "csv", rows), progress=False)
    report = project.import_items(pd.DataFrame(rows), progress=False)
    assert report.added == 0  # the same content gives the same id, whatever the format
    keys = [project.next_item("ana").key]
    assert len(keys[0]) == 32


def test_column_mapping(project, tmp_path):
    rows = [
        {"uid": "x1", "body": "hello", "lang": "de", "answer": "feedback", "why": "a thank-you"}
    ]
    project.import_items(
        write(tmp_path, "jsonl", rows),
        mapping={"text": "body", "language": "lang", "gold": "answer", "gold_explanation": "why"},
        id_column="uid",
        progress=False,
    )
    item = project.item("x1")
    assert item.data == {"text": "hello"} and item.language == "de"
    assert project.store.gold_of(item.id) == {
        "answer": {"label": "feedback"},
        "explanation": "a thank-you",
        "exam": None,
    }


def test_optional_columns(project, tmp_path):
    rows = [
        {
            "id": "o1",
            "text": "Cancel my account now!!!",
            "language": "EN",
            "level": 2,
            "priority": "-3",
            "sensitive": "yes",
            "gold": '{"label": "account"}',
            "gold_explanation": "asks to close the account",
            "suggestions": '{"label": "account"}',
            "metadata": '{"source": "email"}',
            "channel": "mail",
        }
    ]
    project.import_items(
        write(tmp_path, "csv", rows), id_column="id", metadata_columns=["channel"], progress=False
    )
    item = project.item("o1")
    assert (item.language, item.level, item.sensitive) == ("en", 2, True)
    assert item.suggestions == {"label": "account"}
    assert item.metadata == {"source": "email", "channel": "mail"}
    assert project.store.gold_of(item.id)["answer"] == {"label": "account"}
    assert project.progress()["gold_items"] == 1
    with project.store.reading() as conn:
        assert conn.exec_driver_sql("SELECT priority FROM items").scalar() == -3


@pytest.mark.parametrize("kind", ["dataframe", "csv", "parquet"])
def test_level_and_priority_columns_with_empty_cells(project, tmp_path, kind):
    """Pandas turns a whole-number column with an empty cell into floats (1.0, NaN)."""
    rows = [
        {"id": "a", "text": "x", "level": 1, "priority": 5},
        {"id": "b", "text": "y", "level": None, "priority": None},
        {"id": "c", "text": "z", "level": 2, "priority": -1},
    ]
    source = pd.DataFrame(rows) if kind == "dataframe" else write(tmp_path, kind, rows)
    assert project.import_items(source, id_column="id", progress=False).added == 3
    assert [project.item(key).level for key in "abc"] == [1, 0, 2]
    with project.store.reading() as conn:
        found = conn.exec_driver_sql("SELECT priority FROM items ORDER BY id").scalars().all()
    assert found == [5, 0, -1]
    before = snapshot(project)
    half = pd.DataFrame(
        [{"id": "d", "text": "w", "level": None}, {"id": "e", "text": "v", "level": 1.5}]
    )
    with pytest.raises(InputError, match=r"row 2, column 'level': expected a whole number.*1\.5"):
        project.import_items(half, id_column="id", progress=False)
    assert snapshot(project) == before


def test_gold_exam_and_content_warnings(project, tmp_path):
    rows = [
        {"id": "w1", "text": "plain work"},
        {"id": "h1", "text": "a hidden check", "gold": "billing"},
        {"id": "e1", "text": "an exam question", "gold": "billing", "exam": " basics "},
        {"id": "s1", "text": "graphic", "warnings": "Violence, self-harm ,violence"},
        {"id": "s2", "text": "listed", "warnings": '["hate"]', "sensitive": "no"},
    ]
    project.import_items(write(tmp_path, "csv", rows), id_column="id", progress=False)
    gold = {key: project.store.gold_of(project.item(key).id) for key in ("h1", "e1")}
    assert gold["h1"]["exam"] is None and gold["e1"]["exam"] == "basics"
    assert project.item("s1").warnings == ["self-harm", "violence"]
    assert project.item("s1").sensitive and project.item("s2").sensitive  # a warning blurs
    assert project.item("w1").warnings is None and not project.item("w1").sensitive
    # gold is never in the normal queue and never counts as work left
    assert project.progress()["items"] == 3 and project.store.remaining() == 3
    served = []
    while (item := project.next_item("ana")) is not None:
        served.append(item.key)
        project.submit(item, {"label": "billing"}, annotator="ana")
    assert sorted(served) == ["s1", "s2", "w1"]
    assert project.store.remaining() == 0


def test_images_from_paths_bytes_and_urls(tmp_path):
    (tmp_path / "img").mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    (tmp_path / "img" / "a.png").write_bytes(png)
    rows = [
        {"id": "i1", "prompt": "a cat", "image": "img/a.png"},
        {"id": "i2", "prompt": "a dog", "image": "https://example.org/dog.png"},
    ]
    project = Project.create(tmp_path / "p", "image-validation")
    project.import_items(write(tmp_path, "jsonl", rows), id_column="id", progress=False)
    assert project.item("i1").data["image"] == str((tmp_path / "img" / "a.png").resolve())
    assert project.item("i2").data["image"] == "https://example.org/dog.png"
    with_bytes = datasets.Dataset.from_dict(
        {"id": ["i3"], "prompt": ["bytes"], "image": [{"bytes": png, "path": None}]},
        features=datasets.Features(
            {
                "id": datasets.Value("string"),
                "prompt": datasets.Value("string"),
                "image": datasets.Image(),
            }
        ),
    )
    project.import_items(with_bytes, id_column="id", progress=False)
    assert "bytes_b64" in project.item("i3").data["image"]
    project.close()


def test_chat_field_from_jsonl(tmp_path):
    rows = [
        {
            "id": "c1",
            "conversation": [{"role": "user", "content": "What is 2+2?"}],
            "response": "It is **4**.",
        }
    ]
    project = Project.create(tmp_path / "p", "chatbot-rating")
    project.import_items(write(tmp_path, "jsonl", rows), id_column="id", progress=False)
    assert project.item("c1").data["conversation"][0]["content"] == "What is 2+2?"
    project.close()


BAD_INPUTS = {
    "missing mapped column": (
        "csv",
        [{"id": "a", "body": "x"}],
        {},
        ("row", None, "column 'text'", "missing column"),
    ),
    "wrong type": (
        "jsonl",
        [{"id": "a", "text": "fine"}, {"id": "b", "text": 42}],
        {},
        ("row 2", "column 'text'", "expected text, got int"),
    ),
    "empty text": ("jsonl", [{"id": "a", "text": ""}], {}, ("row 1", "column 'text'", "empty")),
    "duplicate id, different content": (
        "jsonl",
        [{"id": "a", "text": "one"}, {"id": "a", "text": "two"}],
        {},
        ("row 2", "'a' appears twice with different content"),
    ),
    "invalid gold": (
        "jsonl",
        [{"id": "a", "text": "x", "gold": {"label": "refund"}}],
        {},
        ("row 1", "column 'gold'", "invalid gold answer", "'refund' is not one of the labels"),
    ),
    "invalid suggestion": (
        "jsonl",
        [{"id": "a", "text": "x", "suggestions": {"labels": "billing"}}],
        {},
        ("row 1", "column 'suggestions'", "unknown question 'labels'"),
    ),
    "bad level": (
        "csv",
        [{"id": "a", "text": "x", "level": "hard"}],
        {},
        ("row 1", "column 'level'", "whole number"),
    ),
    "bad priority": (
        "jsonl",
        [{"id": "a", "text": "x", "priority": "high"}],
        {},
        ("row 1", "column 'priority'", "whole number"),
    ),
    "bad sensitive flag": (
        "jsonl",
        [{"id": "a", "text": "x", "sensitive": "sometimes"}],
        {},
        ("row 1", "column 'sensitive'", "true or false"),
    ),
    "bad content warnings": (
        "jsonl",
        [{"id": "a", "text": "x", "warnings": {"violence": True}}],
        {},
        ("row 1", "column 'warnings'", "category names"),
    ),
    "bad exam name": (
        "jsonl",
        [{"id": "a", "text": "x", "gold": "billing", "exam": "x" * 65}],
        {},
        ("row 1", "column 'exam'", "exam name"),
    ),
    "empty id": ("jsonl", [{"id": " ", "text": "x"}], {}, ("row 1", "column 'id'", "empty id")),
    "bad JSON cell": (
        "csv",
        [{"id": "a", "text": "x", "metadata": "{oops"}],
        {},
        ("row 1", "column 'metadata'", "invalid JSON"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_names_file_row_column_and_changes_nothing(project, tmp_path, case):
    kind, rows, options, expected = BAD_INPUTS[case]
    project.import_items(
        write(tmp_path, "jsonl", ROWS).rename(tmp_path / "ok.jsonl"), id_column="id", progress=False
    )
    project.submit("t1", {"label": "billing"}, annotator="ana")
    before = snapshot(project)
    path = write(tmp_path, kind, rows)
    with pytest.raises(InputError) as caught:
        project.import_items(path, id_column="id", progress=False, **options)
    message = str(caught.value)
    assert str(path) in message
    for part in expected:
        if part:
            assert part in message, message
    assert snapshot(project) == before


def test_id_already_in_project_with_other_content(project, tmp_path):
    project.import_items(pd.DataFrame(ROWS), id_column="id", progress=False)
    before = snapshot(project)
    changed = [{"id": "t1", "text": "something else"}]
    with pytest.raises(InputError, match="'t1' is already in the project with different content"):
        project.import_items(write(tmp_path, "jsonl", changed), id_column="id", progress=False)
    assert snapshot(project) == before


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_non_utf8_file(project, tmp_path, kind):
    path = tmp_path / f"latin1.{kind}"
    if kind == "csv":
        path.write_bytes("id,text\na,ok\nb,caf\xe9\n".encode("latin-1"))
    else:
        path.write_bytes(
            '{"id": "a", "text": "ok"}\n{"id": "b", "text": "caf\xe9"}\n'.encode("latin-1")
        )
    with pytest.raises(InputError, match=r"row 2.*not UTF-8|not UTF-8") as caught:
        project.import_items(path, id_column="id", progress=False)
    assert str(path) in str(caught.value)
    assert project.progress()["items"] == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken.parquet", b"PAR1 not really parquet", "cannot read as Parquet"),
        (
            "broken.jsonl",
            b'{"id": "a", "text": "x"}\n{"id": "b", "text": \n',
            "row 2: invalid JSON",
        ),
        ("list.jsonl", b'["a", "b"]\n', "row 1: each line must be a JSON object"),
        ("ragged.csv", b"id,text\na,x,extra\n", "row 1: has 3 values, the header has 2"),
        ("empty.csv", b"", "empty file"),
        ("items.xlsx", b"PK", "cannot tell the format"),
    ],
)
def test_unreadable_files(project, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        project.import_items(path, id_column="id", progress=False)
    assert project.progress()["items"] == 0


def test_missing_file_and_not_a_saved_dataset(project, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        project.import_items(tmp_path / "nope.csv", progress=False)
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="not a dataset saved with save_to_disk"):
        project.import_items(tmp_path / "folder", progress=False)


def test_datasetdict_needs_a_split(project):
    both = datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(ROWS), "test": datasets.Dataset.from_list(ROWS)}
    )
    with pytest.raises(InputError, match="choose a split: train, test"):
        project.import_items(both, progress=False)
    with pytest.raises(InputError, match="no split 'dev'"):
        project.import_items(both, split="dev", progress=False)


def test_mapping_to_unknown_field(project, tmp_path):
    with pytest.raises(InputError, match="neither fields"):
        project.import_items(pd.DataFrame(ROWS), mapping={"txt": "text"}, progress=False)


def many_rows(n):
    return [{"id": f"r{i}", "text": f"message {i}"} for i in range(n)]


def test_bad_row_after_committed_batches_removes_the_whole_import(project, tmp_path):
    rows = many_rows(12_000)
    rows[11_500]["text"] = None
    before = snapshot(project)
    with pytest.raises(InputError, match="row 11501"):
        project.import_items(write(tmp_path, "parquet", rows), id_column="id", progress=False)
    assert snapshot(project) == before


def test_interrupted_import_is_hidden_then_resumes(project, tmp_path, monkeypatch):
    path = write(tmp_path, "parquet", many_rows(12_000))
    real_write = labelkit.ingest._write_batch
    calls = []

    def crash_on_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(labelkit.ingest, "_write_batch", crash_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        project.import_items(path, id_column="id", progress=False)
    progress = project.progress()
    assert progress["unfinished_imports"] == 1
    assert progress["items"] == 0  # half-imported items are not served
    assert project.next_item("ana") is None

    monkeypatch.setattr(labelkit.ingest, "_write_batch", real_write)
    report = project.import_items(path, id_column="id", progress=False)
    assert report.resumed_from == 10_000
    assert report.rows == 12_000
    assert project.progress()["items"] == 12_000
    assert project.progress()["unfinished_imports"] == 0
    assert project.next_item("ana").key == "r0"


def test_progress_bar_is_shown(project, tmp_path, capsys):
    project.import_items(write(tmp_path, "parquet", many_rows(10)), id_column="id")
    err = capsys.readouterr().err
    assert "10/10" in err and "rows" in err


def test_import_on_postgres(tmp_path, postgres_url):
    project = Project.create(tmp_path / "p", "classification", db_url=postgres_url)
    path = write(tmp_path, "parquet", many_rows(6_000))
    assert project.import_items(path, id_column="id", progress=False).added == 6_000
    assert project.import_items(path, id_column="id", progress=False).added == 0
    bad = [{"id": "r1", "text": "message 1"}, {"id": "r0", "text": "changed"}]
    with pytest.raises(InputError, match="already in the project"):
        project.import_items(write(tmp_path, "jsonl", bad), id_column="id", progress=False)
    assert project.progress()["items"] == 6_000
    project.close()
