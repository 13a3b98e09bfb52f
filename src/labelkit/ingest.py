"""Import items from a source into the store: map columns, validate, deduplicate, resume.

Rows are written in committed batches (bounded memory on any size), tagged with their import.
Items of an import that has not finished are never served; when a row is bad, every item the
import added is removed again, so the store is as it was, and the error names file, row, column.
Re-running an interrupted import of the same file resumes after the last committed batch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tqdm.auto import tqdm

from labelkit.errors import AnswerError, InputError
from labelkit.schema import Schema, check_field_value
from labelkit.sources import Source, open_source, read_json_cell
from labelkit.store import Store
from labelkit.store.tables import gold, imports, items

# Columns with a meaning of their own besides the schema's fields (all optional).
OPTIONAL_COLUMNS = (
    "language",
    "level",
    "priority",
    "sensitive",
    "gold",
    "gold_explanation",
    "exam",
    "warnings",
    "suggestions",
    "metadata",
)
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f", ""}


@dataclass
class ImportReport:
    source: str
    rows: int
    added: int
    unchanged: int
    resumed_from: int = 0

    def __str__(self) -> str:
        text = f"{self.source}: {self.rows} rows, {self.added} items added, "
        text += f"{self.unchanged} already there"
        return text + (f" (resumed after row {self.resumed_from})" if self.resumed_from else "")


class Importer:
    """Turns source rows into items for one schema and column mapping."""

    def __init__(
        self,
        schema: Schema,
        mapping: dict[str, str] | None = None,
        id_column: str | None = None,
        metadata_columns: list[str] | None = None,
    ):
        self.schema = schema
        mapping = dict(mapping or {})
        allowed = set(schema.field_names) | set(OPTIONAL_COLUMNS)
        unknown = sorted(set(mapping) - allowed)
        if unknown:
            raise InputError(
                "mapping",
                f"{unknown} are neither fields ({schema.field_names}) "
                f"nor optional columns ({list(OPTIONAL_COLUMNS)})",
            )
        # target (field or optional column) -> source column
        self.columns = {name: mapping.get(name, name) for name in allowed}
        self.id_column = id_column
        self.metadata_columns = list(metadata_columns or [])
        # Most sources have none of the optional columns: rows without them skip that part.
        self._optional_sources = {self.columns[name] for name in OPTIONAL_COLUMNS}

    def check_columns(self, source: Source) -> None:
        """Fail before writing anything when a needed column is not in the source."""
        if source.columns is None:
            return
        present = set(source.columns)
        needed = [self.columns[f] for f in self.schema.field_names]
        needed += [c for c in [self.id_column, *self.metadata_columns] if c]
        for column in needed:
            if column not in present:
                raise InputError(
                    source.name,
                    f"missing column; the source has {sorted(present)}",
                    column=column,
                )

    # ------------------------------------------------------------------ one row

    def item(self, row: dict, row_number: int, source: Source) -> dict:
        """The item record for one source row, or an `InputError` naming what is wrong."""

        def fail(column: str | None, message: str):
            raise InputError(source.name, message, row=row_number, column=column)

        data = {}
        for field in self.schema.fields:
            column = self.columns[field.name]
            if column not in row:
                fail(column, f"missing column (for field {field.name!r})")
            value = row[column]
            if value is None or (field.type in ("text", "markdown") and value == ""):
                fail(column, f"empty value for field {field.name!r}")
            if field.type == "chat":
                value = _json_cell(value, lambda m, c=column: fail(c, m))
            if field.type == "image":  # checked while resolved: a path must exist
                value = _image_value(value, source.base_dir, lambda m, c=column: fail(c, m))
            elif problem := check_field_value(field, value):
                fail(column, problem)
            data[field.name] = value
        data_json = _canonical_json(data)
        content_hash = hashlib.sha256(data_json.encode("utf-8")).hexdigest()[:32]

        if self.id_column:
            key = row.get(self.id_column)
            if key is None or str(key).strip() == "":
                fail(self.id_column, "empty id")
            key = str(key).strip()
            if len(key) > 200:
                fail(self.id_column, "id longer than 200 characters")
        else:
            key = content_hash

        record = {"key": key, "data": data, "data_json": data_json, "content_hash": content_hash}
        if self.metadata_columns or not self._optional_sources.isdisjoint(row):
            self._add_optional(record, row, fail)
        return record

    def _add_optional(self, record: dict, row: dict, fail) -> None:
        """Language, level, priority, sensitive flag, metadata, suggestions and gold."""
        data = record["data"]

        def optional(name: str) -> Any:
            return row.get(self.columns[name])

        language = optional("language")
        if language not in (None, ""):
            if not isinstance(language, str) or len(language) > 35:
                fail(self.columns["language"], f"expected a language code, got {language!r}")
            record["language"] = language.strip().lower()
        level = optional("level")
        if level not in (None, ""):
            try:
                record["level"] = _whole_number(level)
                if record["level"] < 0:
                    raise ValueError
            except ValueError:
                fail(self.columns["level"], f"expected a whole number >= 0, got {level!r}")
        priority = optional("priority")
        if priority not in (None, ""):
            try:
                record["priority"] = _whole_number(priority)
            except ValueError:
                fail(self.columns["priority"], f"expected a whole number, got {priority!r}")
        sensitive = optional("sensitive")
        if sensitive is not None:
            if isinstance(sensitive, str) and sensitive.strip().lower() in TRUE_WORDS | FALSE_WORDS:
                sensitive = sensitive.strip().lower() in TRUE_WORDS
            if not isinstance(sensitive, bool):
                fail(self.columns["sensitive"], f"expected true or false, got {sensitive!r}")
            record["sensitive"] = sensitive
        warnings = optional("warnings")  # content-warning categories: "violence, self-harm"
        if warnings not in (None, ""):
            if isinstance(warnings, str) and warnings.lstrip().startswith("["):
                warnings = _json_cell(warnings, lambda m: fail(self.columns["warnings"], m))
            elif isinstance(warnings, str):
                warnings = warnings.split(",")
            if not isinstance(warnings, list | tuple) or not all(
                isinstance(w, str) and len(w.strip()) <= 64 for w in warnings
            ):
                fail(self.columns["warnings"], f"expected category names, got {warnings!r}")
            categories = sorted({w.strip().lower() for w in warnings if w.strip()})
            if categories:
                record["warnings"] = categories
                record["sensitive"] = True  # a content warning always blurs

        metadata = _json_cell(optional("metadata"), lambda m: fail(self.columns["metadata"], m))
        if metadata is not None and not isinstance(metadata, dict):
            fail(self.columns["metadata"], "metadata must be an object")
        for column in self.metadata_columns:
            metadata = (metadata or {}) | {column: _jsonable(row.get(column))}
        record["metadata"] = metadata

        column = self.columns["suggestions"]
        suggestions = _json_cell(optional("suggestions"), lambda m: fail(column, m))
        if suggestions is not None:
            record["suggestions"] = self._check_suggestions(
                suggestions, data, lambda m: fail(column, m)
            )

        column = self.columns["gold"]
        answer = optional("gold")
        single = self.schema.questions[0].name if len(self.schema.questions) == 1 else None
        if not (single and isinstance(answer, str) and not answer.lstrip().startswith(("{", "["))):
            answer = _json_cell(answer, lambda m: fail(column, m))
        if answer not in (None, ""):
            if not isinstance(answer, dict) and single:  # a bare answer to the one question
                answer = {single: answer}
            try:
                answer = self.schema.validate_answer(answer, data)
            except AnswerError as exc:
                fail(column, f"invalid gold answer: {'; '.join(exc.problems)}")
            explanation = optional("gold_explanation")
            record["gold"] = {"answer": answer, "explanation": str(explanation or ""), "exam": None}
            exam = optional("exam")  # which exam or training it belongs to; none: a honeypot
            if exam not in (None, ""):
                if not isinstance(exam, str) or len(exam.strip()) > 64:
                    fail(self.columns["exam"], f"expected an exam name, got {exam!r}")
                record["gold"]["exam"] = exam.strip()

    def _check_suggestions(self, suggestions: Any, data: dict, fail) -> dict:
        if not isinstance(suggestions, dict):
            fail("suggestions must be an object of question: value")
        clean = {}
        for name, value in suggestions.items():
            question = next((q for q in self.schema.questions if q.name == name), None)
            if question is None:
                fail(f"suggestion for unknown question {name!r}")
            normalized, problem = question.check(value, data)
            if problem:
                fail(f"invalid suggestion for {name!r}: {problem}")
            clean[name] = normalized
        return clean


def _whole_number(value: Any) -> int:
    """A whole number from a cell: 2, "2", or 2.0 (pandas turns an int column with empty
    cells into floats); 1.5, "high" or True raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) or (isinstance(value, str) and "." in value):
        number = float(value)
        if not number.is_integer():
            raise ValueError(value)
        return int(number)
    return int(str(value).strip())


def _json_cell(value: Any, fail) -> Any:
    try:
        return read_json_cell(value)
    except json.JSONDecodeError as exc:
        fail(f"invalid JSON: {exc.msg}")


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def _image_value(value: Any, base_dir: Path | None, fail) -> Any:
    """Keep URLs; resolve local paths (they must exist); carry bytes as base64 in JSON."""
    if isinstance(value, dict):  # a datasets Image feature, undecoded: {"bytes", "path"}
        value = value.get("bytes") or value.get("path")
    if isinstance(value, bytes | bytearray):
        return {"bytes_b64": base64.b64encode(bytes(value)).decode("ascii")}
    if not isinstance(value, str) or not value:
        fail("expected an image path, URL or bytes")
    if value.startswith(("http://", "https://")):
        return value
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        fail(f"image file not found: {path}")
    return str(path.resolve())


def _canonical_json(data: dict) -> str:
    """The item's data as stored, and hashed: one serialization serves both."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(data: dict) -> str:
    """An item's stable id when the source has none: a hash of its canonical data."""
    return hashlib.sha256(_canonical_json(data).encode("utf-8")).hexdigest()[:32]


def _json_text(value: Any) -> str | None:
    """As tables.JSONText writes it (the raw insert below bypasses the column type)."""
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Bulk insert through the driver: SQLAlchemy's per-row parameter processing was a third of an
# import's time (benchmarks/import_parquet.py); the statement is the same on both databases
# but for the placeholder style.
_ITEM_INSERT_COLUMNS = (
    "key, data, content_hash, metadata, suggestions, language, level, priority, sensitive, "
    "warnings, gold, import_id"
)


def _item_insert_sql(dialect: sa.Dialect) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(_ITEM_INSERT_COLUMNS.split(",")))
    return f"INSERT INTO items ({_ITEM_INSERT_COLUMNS}) VALUES ({marks})"


# ---------------------------------------------------------------------------- the run


def import_items(
    store: Store,
    schema: Schema,
    data: Any,
    *,
    mapping: dict[str, str] | None = None,
    id_column: str | None = None,
    metadata_columns: list[str] | None = None,
    split: str | None = None,
    format: str | None = None,
    progress: bool = True,
) -> ImportReport:
    """Import every row of `data` (see `open_source`) as items; all or nothing."""
    importer = Importer(schema, mapping, id_column, metadata_columns)
    source = open_source(data, split=split, format=format)
    importer.check_columns(source)
    fingerprint = _import_fingerprint(source, importer)
    import_id, resume_after = _start(store, source, fingerprint)
    report = ImportReport(source.name, 0, 0, 0, resumed_from=resume_after)
    bar = tqdm(
        total=source.total,
        unit=" rows",
        desc=f"import {Path(source.name).name}",
        disable=not progress,
    )
    try:
        for first, rows in source.batches():
            last = first + len(rows) - 1
            if last <= resume_after:  # committed by the interrupted run
                bar.update(len(rows))
                continue
            records = [importer.item(row, first + i, source) for i, row in enumerate(rows)]
            added = _write_batch(store, source, records, first, import_id, last)
            report.rows, report.added = last, report.added + added
            bar.update(len(rows))
        report.rows = max(report.rows, resume_after)
        bar.total = report.rows  # line counts are estimates (blank lines, multi-line values)
        bar.refresh()
        with store.writing() as conn:
            row = conn.execute(sa.select(imports).where(imports.c.id == import_id)).one()
            conn.execute(
                imports.update()
                .where(imports.c.id == import_id)
                .values(status="done", finished_at=sa.func.current_timestamp())
            )
        report.added = row.rows_added
        report.unchanged = report.rows - report.added
        return report
    except InputError:
        _undo(store, import_id)  # bad input: leave the store as it was
        raise
    # Anything else (Ctrl-C, a lost connection) leaves the import resumable.
    finally:
        bar.close()


def _import_fingerprint(source: Source, importer: Importer) -> str | None:
    if source.fingerprint is None:
        return None
    options = json.dumps(
        [source.fingerprint, importer.columns, importer.id_column, importer.metadata_columns],
        sort_keys=True,
    )
    return hashlib.sha256(options.encode()).hexdigest()


def _start(store: Store, source: Source, fingerprint: str | None) -> tuple[int, int]:
    """Open an import row, or take over an interrupted one of the same file: (id, rows done)."""
    with store.writing() as conn:
        if fingerprint is not None:
            row = conn.execute(
                sa.select(imports.c.id, imports.c.rows_read).where(
                    imports.c.fingerprint == fingerprint, imports.c.status == "running"
                )
            ).first()
            if row is not None:
                return row.id, row.rows_read
        import_id = conn.execute(
            imports.insert()
            .values(source=source.name, fingerprint=fingerprint, status="running")
            .returning(imports.c.id)
        ).scalar_one()
    return import_id, 0


def _write_batch(
    store: Store, source: Source, records: list[dict], first: int, import_id: int, last: int
) -> int:
    """Insert the new items of one batch and commit it with the import's position."""
    by_key: dict[str, dict] = {}
    for offset, record in enumerate(records):
        earlier = by_key.get(record["key"])
        if earlier is None:
            by_key[record["key"]] = record
        elif earlier["content_hash"] != record["content_hash"]:
            raise InputError(
                source.name,
                f"id {record['key']!r} appears twice with different content",
                row=first + offset,
            )
    with store.writing() as conn:
        existing = dict(
            conn.execute(
                sa.select(items.c.key, items.c.content_hash).where(items.c.key.in_(list(by_key)))
            ).all()
        )
        for offset, record in enumerate(records):
            stored = existing.get(record["key"])
            if stored is not None and stored != record["content_hash"]:
                raise InputError(
                    source.name,
                    f"id {record['key']!r} is already in the project with different content",
                    row=first + offset,
                )
        new = [r for key, r in by_key.items() if key not in existing]
        if new:
            conn.exec_driver_sql(
                _item_insert_sql(conn.dialect),
                [
                    (
                        r["key"],
                        r["data_json"],
                        r["content_hash"],
                        _json_text(r.get("metadata")),
                        _json_text(r.get("suggestions")),
                        r.get("language"),
                        r.get("level", 0),
                        r.get("priority", 0),
                        r.get("sensitive", False),
                        _json_text(r.get("warnings")),
                        "gold" in r,
                        import_id,
                    )
                    for r in new
                ],
            )
            with_gold = {r["key"]: r["gold"] for r in new if "gold" in r}
            if with_gold:
                ids = conn.execute(
                    sa.select(items.c.key, items.c.id).where(items.c.key.in_(list(with_gold)))
                ).all()
                conn.execute(
                    gold.insert(),
                    [{"item_id": item_id, **with_gold[key]} for key, item_id in ids],
                )
        conn.execute(
            imports.update()
            .where(imports.c.id == import_id)
            .values(rows_read=last, rows_added=imports.c.rows_added + len(new))
        )
    return len(new)


def _undo(store: Store, import_id: int) -> None:
    with store.writing() as conn:
        added = sa.select(items.c.id).where(items.c.import_id == import_id)
        conn.execute(gold.delete().where(gold.c.item_id.in_(added)))
        conn.execute(items.delete().where(items.c.import_id == import_id))
        conn.execute(imports.delete().where(imports.c.id == import_id))
