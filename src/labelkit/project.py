"""Project: the one object a notebook user holds.

A project is a folder: ``project.yaml`` (settings), ``schema.yaml`` (fields and questions) and,
by default, ``labelkit.db`` (the SQLite label store). With a database URL the labels live in
PostgreSQL instead, and several machines can share them.
"""

from __future__ import annotations

import getpass
import os
import secrets
from pathlib import Path
from typing import Any

import yaml

from labelkit.errors import ProjectError, StoreError
from labelkit.gold.control import QualityControl
from labelkit.gold.settings import quality_settings
from labelkit.ingest import ImportReport, import_items
from labelkit.schema import Schema
from labelkit.store import Annotation, Item, Store, sqlite_url
from labelkit.store.store import ANNOTATION_COLUMNS
from labelkit.team import assignment
from labelkit.team import overlap as dynamic_overlap
from labelkit.team.overlap import DynamicOverlap
from labelkit.templates import template
from labelkit.wellbeing import limits_of

SETTINGS_FILE = "project.yaml"
SCHEMA_FILE = "schema.yaml"
DB_URL_VARIABLE = "LABELKIT_DB_URL"  # overrides the settings' URL (keeps passwords out of files)


class Project:
    def __init__(self, path: Path, settings: dict, schema: Schema, db_url: str | None):
        self.path = path
        self.settings = settings
        self.schema = schema
        wellbeing = limits_of(settings)  # checked before the store opens: nothing to close
        self.quality_settings = quality_settings(settings)  # the `quality:` section, checked
        self.store = Store(db_url or sqlite_url(path))
        self.store.wellbeing = wellbeing  # exposure limits on sensitive items
        # Honeypots, gold scores and speed checks run inside each submit (labelkit.gold).
        self.store.quality = QualityControl(self, self.quality_settings)
        self._annotator_ids: dict[str, int] = {}  # name -> id never changes: ask the store once

    # ------------------------------------------------------------------ create / open

    @classmethod
    def create(
        cls,
        path: str | Path,
        schema: Schema | str | Path,
        *,
        db_url: str | None = None,
        overlap: int | dict = 1,
        order: str = "sequential",
        seed: int | None = None,
        lease_seconds: float = assignment.DEFAULT_LEASE_SECONDS,
    ) -> Project:
        """Make a new project folder. `schema`: a Schema, a template name, or a YAML/JSON file.
        Assignment settings: see `configure`."""
        path = Path(path)
        if (path / SETTINGS_FILE).exists():
            raise ProjectError(f"{path} is already a labelkit project")
        seed = _seed(order, seed)
        assignment.check_settings(order=order, seed=seed, lease_seconds=lease_seconds)
        schema = _as_schema(schema)
        overlap = _overlap_setting(overlap, schema)
        path.mkdir(parents=True, exist_ok=True)
        settings = {"labelkit": 1, "title": schema.title, "overlap": overlap}
        settings |= {"order": order, "lease_seconds": lease_seconds}
        if seed is not None:
            settings["seed"] = seed
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
        dynamic_overlap.parse(settings.get("overlap", 1), schema)  # a clear error up front
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

    def save_settings(self) -> None:
        """Write `settings` back to project.yaml (atomically: a crash leaves the old file)."""
        target = self.path / SETTINGS_FILE
        temporary = target.with_suffix(".yaml.tmp")
        temporary.write_text(yaml.safe_dump(self.settings, sort_keys=False), "utf-8")
        temporary.replace(target)

    @property
    def overlap(self) -> int:
        """The most answers an item gets: the fixed overlap, or the dynamic overlap's max."""
        rule = self.overlap_rule
        return rule if isinstance(rule, int) else rule.max

    @property
    def overlap_rule(self) -> int | DynamicOverlap:
        """The overlap in force: a number (fixed), or a DynamicOverlap (team/overlap.py)."""
        value = self.settings.get("overlap", 1)
        cached = self.__dict__.get("_overlap_rule")
        if cached is None or cached[0] != value:
            cached = self._overlap_rule = (value, dynamic_overlap.parse(value, self.schema))
        return cached[1]

    @property
    def order(self) -> str:
        return self.settings.get("order", "sequential")

    @property
    def lease_seconds(self) -> float:
        return float(self.settings.get("lease_seconds", assignment.DEFAULT_LEASE_SECONDS))

    def configure(
        self,
        *,
        overlap: int | dict | None = None,
        order: str | None = None,
        seed: int | None = None,
        lease_seconds: float | None = None,
        progress: bool = True,
    ) -> dict:
        """Change how items are handed out; returns the assignment settings now in force.

        overlap: submitted answers wanted per item, from distinct annotators; or a dynamic
        overlap {min: 2, max: 5, confidence: 0.7, question: NAME (optional)}: `min` answers,
        then more while the consensus is below `confidence`, up to `max` (team/overlap.py).
        Items already settled by a dynamic overlap stay settled when it changes, and go back
        in the queue when the project returns to a fixed overlap.
        order: "sequential" (import order), "random" (shuffled by `seed`; the same seed gives
        the same order) or "priority" (the items' `priority` column, higher first). Started
        items always come before new ones. lease_seconds: how long a shown item stays reserved
        for its annotator without activity. Changing the order rewrites every item's order key.
        """
        new_order = order or self.order
        if order is not None or seed is not None:
            seed = _seed(new_order, seed if seed is not None else self.settings.get("seed"))
        assignment.check_settings(order=order, seed=seed, lease_seconds=lease_seconds)
        was_dynamic = isinstance(self.overlap_rule, DynamicOverlap)
        if overlap is not None:
            overlap = _overlap_setting(overlap, self.schema)
        changes = {"overlap": overlap, "order": order, "seed": seed, "lease_seconds": lease_seconds}
        changes = {key: value for key, value in changes.items() if value is not None}
        reorder = any(
            changes.get(k, self.settings.get(k)) != self.settings.get(k) for k in ("order", "seed")
        )
        self.settings.update(changes)
        (self.path / SETTINGS_FILE).write_text(
            yaml.safe_dump(self.settings, sort_keys=False), "utf-8"
        )
        if reorder:
            self.store.rank_items(new_order, self.settings.get("seed") or 0, progress=progress)
        if was_dynamic and isinstance(self.overlap_rule, int):  # settled items count again
            with self.store.writing() as conn:
                dynamic_overlap.unsettle(conn, new_order, self.settings.get("seed") or 0)
        return self.assignment_settings()

    def assignment_settings(self) -> dict:
        settings = {"overlap": self.settings.get("overlap", 1), "order": self.order}
        if self.order == "random":
            settings["seed"] = self.settings.get("seed")
        return settings | {"lease_seconds": self.lease_seconds}

    # ------------------------------------------------------------------ items

    def import_items(self, data: Any, **options) -> ImportReport:
        """Import a DataFrame, a datasets Dataset/DatasetDict, or a CSV/JSONL/Parquet/saved
        dataset path. Options: mapping={field: column}, id_column, metadata_columns, split,
        format, progress. All or nothing; re-importing the same rows adds nothing.
        An optional `priority` column (or mapping={"priority": column}) feeds order="priority"."""
        after = self.store.last_item_id()
        report = import_items(self.store, self.schema, data, **options)
        if self.order != "sequential":  # sequential needs no key: ties go by id
            self.store.rank_items(self.order, self.settings.get("seed") or 0, after + 1)
        if report.added:
            self.store.analyze()
        return report

    def item(self, item: int | str | Item) -> Item:
        if isinstance(item, Item):
            return item
        return self.store.item(item) if isinstance(item, int) else self.store.item_by_key(item)

    def next_item(self, annotator: str | None = None) -> Item | None:
        """The next item `annotator` (default: the local user) should label, or None.

        The item is leased to them for `lease_seconds` (`item.lease_until`, epoch seconds):
        asking again meanwhile returns the same item; answering, skipping or escalating it
        ends the lease, and so does the time running out (the item goes to someone else)."""
        return self.store.next_item(
            self._annotator_id(annotator), self.overlap_rule, lease_seconds=self.lease_seconds
        )

    def renew_lease(self, item: int | str | Item, annotator: str | None = None) -> float | None:
        """Keep `item` reserved for `annotator` another `lease_seconds`; the new end, or None
        when they hold no lease on it (it ran out or was never theirs)."""
        item_id = item.id if isinstance(item, Item) else self.item(item).id
        return self.store.renew_lease(item_id, self._annotator_id(annotator), self.lease_seconds)

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
        history: bool = False,
    ) -> Annotation:
        """Record `annotator`'s answer to `item` (by id, key or Item); committed on return.

        The answer is validated against the schema. `status` "skipped" or "escalated" records
        no answer (an escalation should say why in `comment`). Answering again adds a version.
        `history=True`: an answer given earlier, being imported (see `Store.submit`); the
        live-session checks (suspension, gold scoring, honeypots) are skipped.
        """
        item, answer = self._checked(item, answer, status)
        return self.store.submit(
            item.id,
            self._annotator_id(annotator),
            answer,
            status=status,
            client_key=client_key,
            comment=comment,
            duration_ms=duration_ms,
            overlap=self.overlap_rule,
            history=history,
        )

    def submit_and_next(
        self,
        item: int | str | Item,
        answer: dict | None = None,
        *,
        annotator: str | None = None,
        status: str = "submitted",
        client_key: str | None = None,
        comment: str | None = None,
        duration_ms: int | None = None,
    ) -> tuple[Annotation, Item | None]:
        """`submit`, then `next_item`, committed together (one commit: a labeling session's
        path). Returns the annotation and the next item leased to the annotator (or None)."""
        item, answer = self._checked(item, answer, status)
        return self.store.submit_and_next(
            item.id,
            self._annotator_id(annotator),
            answer,
            overlap=self.overlap_rule,
            lease_seconds=self.lease_seconds,
            status=status,
            client_key=client_key,
            comment=comment,
            duration_ms=duration_ms,
        )

    def _checked(self, item, answer, status) -> tuple[Item, dict | None]:
        item = self.item(item)
        if status == "submitted":
            answer = self.schema.validate_answer(answer, item.data)
        elif answer is not None:
            raise StoreError(f"a {status} item carries no answer")
        return item, answer

    def annotations(self, current_only: bool = False):
        """Every annotation as a pandas DataFrame (one row per version; `current` marks the
        latest version of each annotator's answer)."""
        import pandas as pd

        rows = [row for chunk in self.store.annotation_chunks(current_only) for row in chunk]
        return pd.DataFrame.from_records(rows, columns=list(ANNOTATION_COLUMNS))

    def label(self, annotator: str | None = None, *, keymap: dict | None = None, daily_goal=100):
        """The labeling widget for `annotator` (default: the local user), to display inline."""
        from labelkit.ui import LabelSession, LabelWidget

        session = LabelSession(self, annotator or self.local_user(), daily_goal=daily_goal)
        return LabelWidget(session, keymap=keymap)

    @property
    def annotators(self):
        """The annotator accounts and their personal access links: add, list, suspend,
        resume, rotate_token (see labelkit.team.accounts)."""
        from labelkit.team.accounts import Accounts

        return Accounts(self.store)

    # ------------------------------------------------------------------ gold, exams, levels

    def add_gold(
        self,
        item: int | str | Item,
        answer: dict,
        explanation: str = "",
        exam: str | None = None,
    ) -> None:
        """Make `item` a gold item with this known `answer` (validated against the schema) and
        an `explanation` (shown after the answer in training). `exam`: the exam or training it
        belongs to (see `quality.exams` in project.yaml); None: a honeypot, mixed hidden into
        normal work. The item leaves the normal queue. Adding it again replaces the answer."""
        from labelkit.gold.honeypots import add_gold

        add_gold(self, self.item(item), answer, explanation, exam)

    def annotator_status(self, name: str | None = None) -> dict:
        """`name`'s standing: level, status, gold accuracy (count, window), what the next
        level requires (a sentence), the exams open to them and their latest history."""
        from labelkit.gold.status import annotator_status

        return annotator_status(self, name or getpass.getuser())

    def annotator_history(self, name: str | None = None, limit: int | None = None) -> list[dict]:
        """Every change of `name`'s level or status, exam result and warning, newest first,
        with its reason and who made it ("system" or the lead)."""
        from labelkit.gold.history import events

        return events(self.store, self.annotators.get(name or getpass.getuser()).id, limit)

    def exams(self, annotator: str | None = None) -> list[dict]:
        """The exams `annotator` may take now, with their attempts and scores."""
        from labelkit.gold.exams import available

        return available(self, self._annotator_id(annotator))

    def apply_review_rules(self, annotator: str | int) -> dict | None:
        """The rejected-work rule for `annotator` (a name or id): suspends them when too much
        of their reviewed work is rejected (`quality.rejections`). Call after a verdict."""
        from labelkit.gold.policy import apply_review_rules

        annotator_id = annotator if isinstance(annotator, int) else self._annotator_id(annotator)
        return apply_review_rules(self, annotator_id)

    def configure_quality(self, **changes) -> dict:
        """Change `quality:` settings (honeypot_rate, window, exams, fast, ...), checked, saved
        in project.yaml and in force at once. A value of None for `fast` or `rejections`
        turns that rule off. Returns the section as saved."""
        from labelkit.gold.settings import parse

        section = dict(self.settings.get("quality") or {}) | changes
        checked = parse(section)
        self.settings["quality"] = section
        self.save_settings()
        self.quality_settings = checked
        self.store.quality = QualityControl(self, checked)
        return section

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

    # ------------------------------------------------------------------ publishing

    def to_dataset(self, view: str = "raw", *, split=None, split_by=None, seed=0, **options):
        """The labels as a `datasets.Dataset` (one split) or `DatasetDict` (several).

        `view`: "raw" (per item, every answer), "consensus", "preference" (TRL prompt / chosen /
        rejected; per="answer" or "item", keep_ties) or "ratings" (HelpSteer style; per="item"
        or "answer"). `split`: a name, or {name: fraction} (random by item, `seed`); `split_by`:
        a column whose values name the splits. Gold items and rejected answers are left out
        unless include_gold=True / include_rejected=True."""
        from labelkit.publish import build_dataset

        return build_dataset(self, view, split=split, split_by=split_by, seed=seed, **options)

    def publish(self, out: str | Path, **options):
        """Write a hub-ready folder (parquet shards + README.md dataset card) and, with
        push_to="user/name", upload it to the Hugging Face Hub. See `labelkit.publish.publish`."""
        from labelkit.publish import publish

        return publish(self, out, **options)

    def import_published(self, folder: str | Path, *, progress: bool = True):
        """Import a folder written by `publish` (its raw view): items and answers. Labeling then
        continues where it stopped."""
        from labelkit.publish import import_published

        return import_published(self, folder, progress=progress)

    # ------------------------------------------------------------------ figures

    def consensus(self, method: str = "majority", *, use_gold: bool = True, **options):
        """The consensus answer per item and question (see `labelkit.quality.consensus`) over
        the current submitted answers (rejected ones left out). `method`: "majority",
        "dawid_skene" or "one_coin"; with `use_gold`, gold items keep their gold answer and
        anchor the model. A resolved escalation's final answer is its item's consensus
        (confidence 1.0)."""
        from labelkit.quality import consensus
        from labelkit.quality.tidy import gold_answers, project_answers
        from labelkit.review.consensus import with_resolutions

        gold = gold_answers(self.store) if use_gold else None
        table = consensus(project_answers(self), self.schema, method=method, gold=gold, **options)
        return with_resolutions(table, self.store, options.get("questions"))

    @property
    def review(self):
        """Review and escalation: the review queue, accept / reject verdicts, escalated items
        and their resolution (see labelkit.review)."""
        from labelkit.review import Reviews

        return Reviews(self)

    def agreement(self):
        """Agreement between annotators per question (see `labelkit.quality.agreement`)."""
        from labelkit.quality import agreement
        from labelkit.quality.tidy import project_answers

        return agreement(project_answers(self), self.schema)

    def leaderboard(self, question: str | None = None, *, rounds: int = 200, seed: int = 0):
        """(leaderboard, win-rate matrix) of the models compared by a preference question:
        Bradley-Terry with ties and bootstrap intervals. Items name their models in metadata
        (see `labelkit.quality.preference`)."""
        from labelkit.quality.project_figures import model_leaderboard

        return model_leaderboard(self, question, rounds=rounds, seed=seed)

    def system_scores(self, score: str | None = None, errors: str | None = None):
        """(per item, per system) translation scores: mean and per-annotator z-normalised score,
        MQM-style error-span score (see `labelkit.quality.translation`)."""
        from labelkit.quality.project_figures import system_scores

        return system_scores(self, score, errors)

    def progress(self) -> dict[str, int]:
        figures = self.store.counts(self.overlap)
        # Settled below the overlap (by dynamic overlap, or resolved by a reviewer): complete
        # all the same.
        with self.store.reading() as conn:
            early = dynamic_overlap.settled_early(conn, self.overlap)
        figures["complete"] += sum(early.values())
        figures["not_started"] -= early.get(0, 0)
        figures["in_progress"] -= sum(early.values()) - early.get(0, 0)
        return figures

    def remaining(self) -> int:
        """Items that still want answers: cheap enough to show after every submit."""
        rule = self.overlap_rule
        low = rule if isinstance(rule, int) else rule.min  # below min: all want answers
        left = self.store.remaining(low)
        with self.store.reading() as conn:  # settled (resolved) below that: not wanted
            left -= sum(dynamic_overlap.settled_early(conn, low).values())
            if isinstance(rule, DynamicOverlap):
                left += dynamic_overlap.contested(conn, rule)
        return left

    def stats(self) -> dict:
        """Figures for `labelkit stats` and the team dashboard: the project, its progress and
        throughput, per annotator figures, agreement per question, label distributions, the
        disagreement list and the model leaderboard (see `labelkit.dashboard.figures`)."""
        from labelkit.dashboard.figures import project_figures

        return project_figures(self)

    def local_user(self) -> str:
        """The person at this computer (the researcher in a notebook): created as an admin, who
        sees items of every level and may review, when first met."""
        name = getpass.getuser()
        if name not in self._annotator_ids:
            self._annotator_ids[name] = self.store.annotator_id(name, role="admin")
        return name

    def _annotator_id(self, name: str | None) -> int:
        name = name or self.local_user()
        found = self._annotator_ids.get(name)
        if found is None:
            found = self._annotator_ids[name] = self.store.annotator_id(name)
        return found


LABEL_STUDIO_TOKEN_VARIABLE = "LABEL_STUDIO_API_KEY"


def _labelstudio_token(token: str | None) -> str:
    token = token or os.environ.get(LABEL_STUDIO_TOKEN_VARIABLE, "")
    if not token.strip():
        raise ProjectError(
            f"no Label Studio token: pass token= or set {LABEL_STUDIO_TOKEN_VARIABLE}"
        )
    return token.strip()


def _overlap_setting(value, schema) -> int | dict:
    """The overlap as saved in project.yaml, after checking it against the schema."""
    rule = dynamic_overlap.parse(value, schema)
    if isinstance(rule, int):
        return rule
    setting = {"min": rule.min, "max": rule.max, "confidence": rule.confidence}
    return setting | ({"question": value["question"]} if "question" in value else {})


def _seed(order: str, seed: int | None) -> int | None:
    """Random order needs a seed: a fresh one unless given (kept in the settings)."""
    if order != "random":
        return seed
    return seed if seed is not None else secrets.randbelow(2**31)


def _as_schema(schema: Schema | str | Path) -> Schema:
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, Path) or Path(str(schema)).suffix in (".yaml", ".yml", ".json"):
        return Schema.load(schema)
    return template(str(schema))
