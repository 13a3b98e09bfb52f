"""Project: the one object a notebook user holds.

A project is a folder: ``project.yaml`` (settings), ``schema.yaml`` (fields and questions) and,
by default, ``labelkit.db`` (the SQLite label store). With a database URL the labels live in
PostgreSQL instead, and several machines can share them.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

import yaml

from labelkit.errors import ProjectError, StoreError
from labelkit.ingest import ImportReport, import_items
from labelkit.schema import Schema
from labelkit.store import Annotation, Item, Store, sqlite_url
from labelkit.templates import template

SETTINGS_FILE = "project.yaml"
SCHEMA_FILE = "schema.yaml"
DB_URL_VARIABLE = "LABELKIT_DB_URL"  # overrides the settings' URL (keeps passwords out of files)


class Project:
    def __init__(self, path: Path, settings: dict, schema: Schema, db_url: str | None):
        self.path = path
        self.settings = settings
        self.schema = schema
        self.store = Store(db_url or sqlite_url(path))

    # ------------------------------------------------------------------ create / open

    @classmethod
    def create(
        cls,
        path: str | Path,
        schema: Schema | str | Path,
        *,
        db_url: str | None = None,
        overlap: int = 1,
    ) -> Project:
        """Make a new project folder. `schema`: a Schema, a template name, or a YAML/JSON file."""
        path = Path(path)
        if (path / SETTINGS_FILE).exists():
            raise ProjectError(f"{path} is already a labelkit project")
        if overlap < 1:
            raise ProjectError("overlap must be at least 1")
        schema = _as_schema(schema)
        path.mkdir(parents=True, exist_ok=True)
        settings = {"labelkit": 1, "title": schema.title, "overlap": overlap}
        if db_url:
            settings["db"] = db_url
        project = cls(path, settings, schema, os.environ.get(DB_URL_VARIABLE) or db_url)
        schema.save(path / SCHEMA_FILE)
        (path / SETTINGS_FILE).write_text(yaml.safe_dump(settings, sort_keys=False), "utf-8")
        project.store.set_meta("schema", schema.to_dict())
        return project

    @classmethod
    def open(cls, path: str | Path, *, db_url: str | None = None) -> Project:
        path = Path(path)
        if not (path / SETTINGS_FILE).is_file():
            raise ProjectError(f"{path} is not a labelkit project (no {SETTINGS_FILE})")
        try:
            settings = yaml.safe_load((path / SETTINGS_FILE).read_text("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{path / SETTINGS_FILE}: cannot read: {exc}") from None
        schema = Schema.load(path / SCHEMA_FILE)
        url = db_url or os.environ.get(DB_URL_VARIABLE) or settings.get("db")
        return cls(path, settings, schema, url)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r}, {self.schema.kind!r})"

    @property
    def overlap(self) -> int:
        return int(self.settings.get("overlap", 1))

    # ------------------------------------------------------------------ items

    def import_items(self, data: Any, **options) -> ImportReport:
        """Import a DataFrame, a datasets Dataset/DatasetDict, or a CSV/JSONL/Parquet/saved
        dataset path. Options: mapping={field: column}, id_column, metadata_columns, split,
        format, progress. All or nothing; re-importing the same rows adds nothing."""
        return import_items(self.store, self.schema, data, **options)

    def item(self, item: int | str | Item) -> Item:
        if isinstance(item, Item):
            return item
        return self.store.item(item) if isinstance(item, int) else self.store.item_by_key(item)

    def next_item(self, annotator: str | None = None) -> Item | None:
        """The next item `annotator` (default: the local user) should label, or None."""
        return self.store.next_item(self._annotator_id(annotator), self.overlap)

    # ------------------------------------------------------------------ answers

    def submit(
        self,
        item: int | str | Item,
        answer: dict | None = None,
        *,
        annotator: str | None = None,
        status: str = "submitted",
        client_key: str | None = None,
        comment: str | None = None,
        duration_ms: int | None = None,
    ) -> Annotation:
        """Record `annotator`'s answer to `item` (by id, key or Item); committed on return.

        The answer is validated against the schema. `status` "skipped" or "escalated" records
        no answer (an escalation should say why in `comment`). Answering again adds a version.
        """
        item = self.item(item)
        if status == "submitted":
            answer = self.schema.validate_answer(answer, item.data)
        elif answer is not None:
            raise StoreError(f"a {status} item carries no answer")
        return self.store.submit(
            item.id,
            self._annotator_id(annotator),
            answer,
            status=status,
            client_key=client_key,
            comment=comment,
            duration_ms=duration_ms,
        )

    def annotations(self, current_only: bool = False):
        """Every annotation as a pandas DataFrame (one row per version; `current` marks the
        latest version of each annotator's answer)."""
        import pandas as pd

        columns = ["id", "item", "item_id", "annotator", "version", "status", "answer"]
        columns += ["comment", "duration_ms", "created_at", "current"]
        rows = list(self.store.annotation_rows(current_only=current_only))
        return pd.DataFrame(rows, columns=columns)

    def label(self, annotator: str | None = None, *, keymap: dict | None = None, daily_goal=100):
        """The labeling widget for `annotator` (default: the local user), to display inline."""
        from labelkit.ui import LabelSession, LabelWidget

        session = LabelSession(self, annotator or getpass.getuser(), daily_goal=daily_goal)
        return LabelWidget(session, keymap=keymap)

    # ------------------------------------------------------------------ Label Studio

    def sync_labelstudio(
        self,
        url: str,
        token: str | None = None,
        *,
        push: bool = True,
        pull: bool = True,
        as_predictions: bool = False,
        users: dict[str, str] | None = None,
        batch_size: int = 500,
        timeout: float = 60,
        progress: bool = True,
    ):
        """Two-way sync with a Label Studio project at `url` (created on the first push).

        Pulls annotations made there (validated; invalid ones are skipped and listed in the
        report), then pushes new items as tasks and answers as annotations (or predictions).
        `token`: an API token, by default from the LABEL_STUDIO_API_KEY environment variable;
        it is never stored. `users` maps annotator names to Label Studio emails. Running it
        again changes nothing; an interrupted run resumes. Returns a `SyncReport`."""
        from labelkit.labelstudio import sync_project

        return sync_project(
            self,
            url,
            _labelstudio_token(token),
            push=push,
            pull=pull,
            as_predictions=as_predictions,
            users=users,
            batch_size=batch_size,
            timeout=timeout,
            progress=progress,
        )

    @classmethod
    def link_labelstudio(
        cls,
        path: str | Path,
        url: str,
        project_id: int,
        token: str | None = None,
        *,
        db_url: str | None = None,
        progress: bool = True,
    ) -> Project:
        """A new project in `path` from Label Studio project `project_id`: its labeling config
        becomes the schema, its tasks the items and its annotations the answers (with their
        authors). Later `sync_labelstudio(url)` calls keep both sides in step."""
        from labelkit.labelstudio import link_project

        project, _report = link_project(
            path, url, _labelstudio_token(token), project_id, db_url=db_url, progress=progress
        )
        return project

    # ------------------------------------------------------------------ figures

    def progress(self) -> dict[str, int]:
        return self.store.counts(self.overlap)

    def stats(self) -> dict:
        """Figures for `labelkit stats`: the project, its progress, answers per question."""
        answered: dict[str, int] = {q.name: 0 for q in self.schema.questions}
        for row in self.store.annotation_rows(current_only=True):
            for name in row["answer"] or {}:
                if name in answered:
                    answered[name] += 1
        return {
            "project": str(self.path),
            "title": self.schema.title,
            "kind": self.schema.kind,
            "overlap": self.overlap,
            "database": "sqlite" if self.store.url.startswith("sqlite") else "postgresql",
            **self.progress(),
            "answers_per_question": answered,
        }

    def _annotator_id(self, name: str | None) -> int:
        return self.store.annotator_id(name or getpass.getuser())


LABEL_STUDIO_TOKEN_VARIABLE = "LABEL_STUDIO_API_KEY"


def _labelstudio_token(token: str | None) -> str:
    token = token or os.environ.get(LABEL_STUDIO_TOKEN_VARIABLE, "")
    if not token.strip():
        raise ProjectError(
            f"no Label Studio token: pass token= or set {LABEL_STUDIO_TOKEN_VARIABLE}"
        )
    return token.strip()


def _as_schema(schema: Schema | str | Path) -> Schema:
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, Path) or Path(str(schema)).suffix in (".yaml", ".yml", ".json"):
        return Schema.load(schema)
    return template(str(schema))
