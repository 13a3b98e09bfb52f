"""Check the demo data in `data/` against the labelkit templates.

    .venv/bin/python data/check_demo_data.py

For every file: each item has a unique id and every field of its template's schema, with the
right type; each `gold` is a full valid answer (with a `gold_explanation`); each `suggestions`
object is a valid partial answer ("is required" problems are ignored, nothing else is); the
optional columns have the right types; images exist, are 256×256 PNGs and weigh < 1 MB in all.
Prints the problems and exits 1, or prints a summary and exits 0.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent
sys.path.insert(0, str(DATA.parent / "src"))

from labelkit.errors import AnswerError  # noqa: E402
from labelkit.schema import check_field_value  # noqa: E402
from labelkit.templates import template  # noqa: E402

FILES = {
    "chatbot-rating": "chatbot-rating.jsonl",
    "pairwise-preference": "pairwise-preference.jsonl",
    "moderation": "moderation.jsonl",
    "translation": "translation.jsonl",
    "image-validation": "image-validation.jsonl",
    "classification": "classification.csv",
}
OPTIONAL = {"language", "level", "sensitive", "gold", "gold_explanation", "suggestions", "metadata"}
CSV_COLUMNS = ["id", "text", "language", "gold", "gold_explanation", "suggestions"]
IMAGE_SIZE = (256, 256)
IMAGES_MAX_BYTES = 1_000_000


def read_jsonl(path: Path, problems: list[str]) -> list[tuple[str, dict]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON: {exc}")
            continue
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        rows.append((where, item))
    return rows


def read_csv(path: Path, problems: list[str]) -> list[tuple[str, dict]]:
    rows = []
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames != CSV_COLUMNS:
            problems.append(f"{path.name}: columns {reader.fieldnames}, expected {CSV_COLUMNS}")
        for n, row in enumerate(reader, start=1):
            where = f"{path.name}, row {n}"
            item = {k: v for k, v in row.items() if v not in ("", None)}
            for key in ("gold", "suggestions"):
                if key in item:
                    try:
                        item[key] = json.loads(item[key])
                    except json.JSONDecodeError as exc:
                        problems.append(f"{where}: column {key!r} is not valid JSON: {exc}")
                        del item[key]
            rows.append((where, item))
    return rows


def check_item(name, schema, where, item, data_file, problems, images_used) -> None:
    fields = schema.field_names
    unknown = set(item) - {"id", *fields} - OPTIONAL
    if unknown:
        problems.append(f"{where}: unknown keys {sorted(unknown)}")
    if not isinstance(item.get("id"), str) or not item["id"].strip():
        problems.append(f"{where}: missing or empty 'id'")
    values = {}
    for field in schema.fields:
        if field.name not in item:
            problems.append(f"{where}: missing field {field.name!r}")
            continue
        value = values[field.name] = item[field.name]
        problem = check_field_value(field, value)
        if problem:
            problems.append(f"{where}: field {field.name!r}: {problem}")
        elif field.type == "image" and isinstance(value, str):
            path = (data_file.parent / value).resolve()
            images_used.add(path)
            if not path.is_file():
                problems.append(f"{where}: image {value!r} not found")

    # optional columns
    if "language" in item and (not isinstance(item["language"], str) or not item["language"]):
        problems.append(f"{where}: 'language' must be a language code")
    level = item.get("level")
    if level is not None and (isinstance(level, bool) or level not in range(4)):
        problems.append(f"{where}: 'level' must be an integer 0..3, got {level!r}")
    if "sensitive" in item and not isinstance(item["sensitive"], bool):
        problems.append(f"{where}: 'sensitive' must be true or false")
    metadata = item.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.append(f"{where}: 'metadata' must be an object")
        metadata = None
    if name == "pairwise-preference":
        for key in ("model_a", "model_b"):
            if not isinstance((metadata or {}).get(key), str):
                problems.append(f"{where}: metadata needs {key!r} (the model behind the answer)")
    if name == "translation":
        for key in ("source_lang", "system"):
            if not isinstance((metadata or {}).get(key), str):
                problems.append(f"{where}: metadata needs {key!r}")

    # gold: a full valid answer, with its explanation
    if "gold" in item:
        try:
            schema.validate_answer(item["gold"], values)
        except AnswerError as exc:
            problems.append(f"{where}: invalid gold: {'; '.join(exc.problems)}")
        explanation = item.get("gold_explanation")
        if not isinstance(explanation, str) or not explanation.strip():
            problems.append(f"{where}: gold without a 'gold_explanation'")
    elif "gold_explanation" in item:
        problems.append(f"{where}: 'gold_explanation' without 'gold'")

    # suggestions: a partial answer; only "is required" problems are expected
    if "suggestions" in item:
        suggestions = item["suggestions"]
        if not isinstance(suggestions, dict) or not suggestions:
            problems.append(f"{where}: 'suggestions' must be a non-empty object")
        else:
            try:
                schema.validate_answer(suggestions, values)
            except AnswerError as exc:
                real = [p for p in exc.problems if not p.endswith("is required")]
                if real:
                    problems.append(f"{where}: invalid suggestions: {'; '.join(real)}")


def check_images(images_used: set[Path], problems: list[str]) -> str:
    folder = DATA / "images"
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    total = sum(p.stat().st_size for p in files)
    if total >= IMAGES_MAX_BYTES:
        problems.append(f"images/: {total} bytes in all, should stay under {IMAGES_MAX_BYTES}")
    for path in sorted(set(files) - images_used):
        problems.append(f"images/{path.name}: not used by any item")
    try:
        from PIL import Image
    except ImportError:
        return f"{len(files)} images, {total / 1024:.0f} KiB (Pillow missing: sizes not checked)"
    for path in sorted(images_used):
        if path.is_file():
            with Image.open(path) as image:
                if image.format != "PNG" or image.size != IMAGE_SIZE:
                    problems.append(
                        f"{path.name}: {image.format} {image.size}, expected PNG {IMAGE_SIZE}"
                    )
    return f"{len(files)} images, {total / 1024:.0f} KiB"


def main() -> int:
    problems: list[str] = []
    summary = []
    images_used: set[Path] = set()
    all_ids: dict[str, str] = {}
    for name, filename in FILES.items():
        path = DATA / filename
        if not path.is_file():
            problems.append(f"{filename}: missing")
            continue
        schema = template(name)
        rows = (read_csv if path.suffix == ".csv" else read_jsonl)(path, problems)
        for where, item in rows:
            check_item(name, schema, where, item, path, problems, images_used)
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id in all_ids:
                    problems.append(f"{where}: id {item_id!r} already used at {all_ids[item_id]}")
                else:
                    all_ids[item_id] = where
        gold, suggested, sensitive = (
            sum(key in item for _, item in rows) for key in ("gold", "suggestions", "sensitive")
        )
        summary.append(
            f"{filename:28} {len(rows):3} items, {gold:2} gold, "
            f"{suggested:2} with suggestions, {sensitive:2} sensitive"
        )
    summary.append(check_images(images_used, problems))

    if problems:
        print(f"{len(problems)} problem(s):")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print("\n".join(summary))
    print("all demo data is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
