"""Two-way sync between a labelkit project and a Label Studio project.

One sync = pull, then push (so an edit made in Label Studio since the last sync is seen before
labelkit's answers go out; when both sides edited the same answer, the Label Studio edit becomes
the newer version and both stay in labelkit's history).

Pull
    Reads the tasks changed since the last sync (the first pull reads the project's export; later
    pulls list the tasks whose `updated_at` is past the cursor, with a minute of overlap so a
    transaction that committed late is not missed). Tasks made in Label Studio become items.
    Each annotation is converted, validated against the schema (Label Studio does not check
    results) and appended as a new version for its author, with the deterministic client key
    ``ls<link>-<annotation id>-<hash of updated_at>``: a re-pull writes nothing. Invalid answers
    are skipped and reported (task, annotation, author, problems) rather than failing the sync:
    one bad annotation made in Label Studio should not hold back thousands of good ones, and
    nothing is written for it, so it comes back once fixed there. Deleted annotations stay in
    labelkit (append-only).

Push
    Creates the Label Studio project on the first sync (or updates its config when the schema
    changed), imports items as tasks in batches with the current answers inside the same import
    (or as predictions), then creates or updates the annotations of answers given since.
    Annotators become Label Studio users by email: a name that is an email is used as it is,
    `users={"ana": "ana@example.com"}` maps others, and the rest get ``<name>@labelkit.local``.

Faults
    Every mapping is written in the same transaction as the data it maps. A task import is
    bracketed by a pending marker in the store: when a run dies after Label Studio committed but
    before the mapping was written, the next run finds the marker and maps the tasks it finds
    in Label Studio (by the item key kept in each task's meta) instead of importing them again.
    Annotations created one by one carry a unique id derived from the labelkit annotation, so a
    retry is refused by Label Studio (409) and mapped instead. No HTTP call is retried blindly.
    The token is held in memory only: never written to the store, the folder or a log message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from tqdm.auto import tqdm

from labelkit.errors import AnswerError, LabelkitError
from labelkit.ingest import content_hash
from labelkit.labelstudio.config import LabelConfig, schema_to_config
from labelkit.labelstudio.convert import ResultError, answer_to_result, result_to_answer
from labelkit.schema import Schema, check_field_value
from labelkit.store.store import is_latest_version, latest_versions
from labelkit.store.tables import (
    annotations,
    annotators,
    imports,
    items,
    ls_annotations,
    ls_links,
    ls_tasks,
    ls_users,
    meta,
)
from labelkit.team.overlap import DynamicOverlap, settle

DEFAULT_BATCH = 500
PAGE_SIZE = 1000
PULL_OVERLAP = dt.timedelta(seconds=60)
EMAIL_DOMAIN = "labelkit.local"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PUSHED_STATUSES = ("submitted", "skipped")
NAMESPACE = uuid.UUID("6b1d2f4e-8f0a-4c55-9a43-0d4c1a1e5b17")  # unique ids of our annotations


class LabelStudioError(LabelkitError):
    """Label Studio could not be reached, refused a call, or failed; the message says which."""


@dataclass
class SyncReport:
    url: str
    project_id: int
    created_project: bool = False
    config_updated: bool = False
    tasks_pushed: int = 0
    annotations_pushed: int = 0
    annotations_updated: int = 0
    predictions_pushed: int = 0
    items_pulled: int = 0
    annotations_pulled: int = 0
    recovered_tasks: int = 0
    invalid: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            [
                self.created_project,
                self.config_updated,
                self.tasks_pushed,
                self.annotations_pushed,
                self.annotations_updated,
                self.predictions_pushed,
                self.items_pulled,
                self.annotations_pulled,
            ]
        )

    def __str__(self) -> str:
        lines = [f"Label Studio project {self.project_id} at {self.url}"]
        if self.created_project:
            lines.append("  created the Label Studio project")
        if self.config_updated:
            lines.append("  updated its labeling config")
        lines.append(
            f"  pulled: {self.items_pulled} new items, {self.annotations_pulled} annotations"
        )
        lines.append(
            f"  pushed: {self.tasks_pushed} tasks, {self.annotations_pushed} annotations "
            f"({self.annotations_updated} updated), {self.predictions_pushed} predictions"
        )
        if self.recovered_tasks:
            lines.append(f"  recovered {self.recovered_tasks} tasks of an interrupted push")
        if self.invalid:
            lines.append(f"  skipped {len(self.invalid)} invalid (fix them in Label Studio):")
            lines += [f"    {problem}" for problem in self.invalid]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- the client


class Client:
    """The SDK client with errors a user can act on, and without blind retries."""

    def __init__(self, url: str, token: str, timeout: float = 60):
        if not url.startswith(("http://", "https://")):
            raise LabelStudioError(f"{url!r} is not a Label Studio URL (http:// or https://)")
        if not token:
            raise LabelStudioError("no Label Studio token given")
        from label_studio_sdk import LabelStudio

        self.url = normalize_url(url)
        self.timeout = timeout
        self.sdk = LabelStudio(base_url=self.url, api_key=token, timeout=timeout, max_retries=0)

    def call(self, what: str, fn: Callable, *args, **kwargs):
        """Run one SDK call; any failure becomes a `LabelStudioError` saying what failed."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self.error(what, exc) from None

    def error(self, what: str, exc: Exception) -> Exception:
        """The error to raise for a failed call (an exception that is not HTTP as it is)."""
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        where = f"Label Studio at {self.url}"
        again = "Nothing is half-written; run the sync again to resume"
        if isinstance(exc, ApiError):
            status = exc.status_code
            detail = _detail(exc.body)
            if status in (401, 403):
                return LabelStudioError(
                    f"{where} refused the token ({status}) on {what}: {detail}. Check the token "
                    "(LABEL_STUDIO_API_KEY); a legacy token needs legacy tokens enabled there"
                )
            if status is None or status >= 500:
                return LabelStudioError(f"{where} failed on {what} ({status}): {detail}. {again}")
            return LabelStudioError(f"{where} refused {what} ({status}): {detail}")
        if isinstance(exc, httpx.TimeoutException):
            return LabelStudioError(
                f"{where} did not answer within {self.timeout:g} s on {what}. {again}"
            )
        if isinstance(exc, httpx.HTTPError):  # refused, reset, cut mid-response
            return LabelStudioError(
                f"cannot reach {where} on {what} ({type(exc).__name__}: {_short(exc)}). "
                f"Is it running? {again}"
            )
        if isinstance(exc, json.JSONDecodeError | ValueError) and not isinstance(
            exc, LabelkitError
        ):
            return LabelStudioError(f"{where} sent an unreadable answer on {what}: {_short(exc)}")
        return exc

    # -- helpers over the SDK

    def tasks_page(
        self, project_id: int, page: int, query: dict | None, fields: str = "all"
    ) -> tuple[list, int]:
        """One page of tasks and the number of tasks in all pages. `fields="all"` brings
        annotations; "stamps" only ids and updated_at (several times faster to list)."""
        options = {"fields": "all"}
        if fields == "stamps":
            options = {"fields": "task_only", "include": "id,updated_at"}
        pager = self.call(
            "listing tasks",
            self.sdk.tasks.list,
            project=project_id,
            page=page,
            page_size=PAGE_SIZE,
            resolve_uri=False,
            query=json.dumps(query) if query else None,
            **options,
        )
        total = getattr(pager.response, "total", None)
        tasks = [task.model_dump(mode="json") for task in pager.items]
        return tasks, len(tasks) if total is None else total

    def pages(self, project_id: int, query: dict | None, fields: str = "all") -> Iterable[dict]:
        page = 1
        while True:  # past the last page Label Studio answers 404, so stop at the total
            tasks, total = self.tasks_page(project_id, page, query, fields)
            yield from tasks
            if len(tasks) < PAGE_SIZE or page * PAGE_SIZE >= total:
                return
            page += 1

    def export(self, project_id: int) -> list[dict]:
        """Every task with its annotations and predictions, in one call."""
        raw = b"".join(
            self.call(
                "exporting the project",
                lambda: list(
                    self.sdk.projects.exports.download_sync(
                        id=project_id, export_type="JSON", download_all_tasks=True
                    )
                ),
            )
        )
        return json.loads(raw or b"[]")

    def updated_since(self, project_id: int, since: str) -> list[dict]:
        """(id, updated_at) of the tasks updated after `since`."""
        stamp_ = dt.datetime.fromisoformat(since).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        query = {
            "filters": {
                "conjunction": "and",
                "items": [
                    {
                        "filter": "filter:tasks:updated_at",
                        "operator": "greater",
                        "type": "Datetime",
                        "value": stamp_,  # the only format its filter reads
                    }
                ],
            },
            "ordering": ["tasks:id"],
        }
        return list(self.pages(project_id, query, fields="stamps"))

    def tasks_by_id(self, project_id: int, ids: list[int]) -> Iterable[dict]:
        """Whole tasks (with annotations), PAGE_SIZE ids at a time."""
        for start in range(0, len(ids), PAGE_SIZE):
            chosen = ids[start : start + PAGE_SIZE]
            query = {"selectedItems": {"all": False, "included": chosen}}
            yield from self.pages(project_id, query)


def normalize_url(url: str) -> str:
    return url.strip().rstrip("/")


def _detail(body: Any) -> str:
    if isinstance(body, str) and "<html" in body[:500].lower():
        title = re.search(r"<title>(.*?)</title>", body, re.I | re.S)
        return f"an HTML page ({title.group(1).strip()})" if title else "an HTML page"
    if isinstance(body, dict):
        parts = [str(body.get("detail") or "")]
        if body.get("validation_errors"):
            parts.append(json.dumps(body["validation_errors"], ensure_ascii=False)[:500])
        return " ".join(p for p in parts if p) or json.dumps(body)[:500]
    return _short(body)


def _short(value: Any) -> str:
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text[:300] + ("…" if len(text) > 300 else "")


def stamp(value: Any) -> str | None:
    """A Label Studio timestamp as one canonical text (UTC, microseconds)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


# ---------------------------------------------------------------------------- entry points


def sync_project(
    project,
    url: str,
    token: str,
    *,
    push: bool = True,
    pull: bool = True,
    as_predictions: bool = False,
    users: dict[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    timeout: float = 60,
    progress: bool = True,
) -> SyncReport:
    """Sync `project` with its Label Studio project at `url` (created on the first push)."""
    client = Client(url, token, timeout)
    syncer = _Sync(project, client, batch_size=batch_size, progress=progress)
    link = syncer.link()
    if link is None:
        if not push:
            raise LabelStudioError(
                f"{project.path} is not linked to a Label Studio project at {client.url} yet: "
                "push first"
            )
        link = syncer.create_link()
    syncer.load(link)
    syncer.resume()
    if pull:
        syncer.pull()
    if push:
        syncer.push(as_predictions=as_predictions, user_map=users or {})
    return syncer.report


def link_project(
    path,
    url: str,
    token: str,
    project_id: int,
    *,
    db_url: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    timeout: float = 60,
    progress: bool = True,
):
    """A new labelkit project at `path` from Label Studio project `project_id`: its config
    becomes the schema; its tasks and annotations are pulled. Returns (project, report)."""
    from labelkit.project import Project

    client = Client(url, token, timeout)
    ls_project = client.call("reading the project", client.sdk.projects.get, id=project_id)
    config = LabelConfig.parse(
        ls_project.label_config or "",
        title=ls_project.title or f"Label Studio project {project_id}",
        guidelines=ls_project.expert_instruction or "",
    )
    project = Project.create(
        path, config.schema, db_url=db_url, overlap=max(1, ls_project.maximum_annotations or 1)
    )
    try:
        with project.store.writing() as conn:
            conn.execute(
                ls_links.insert().values(
                    url=client.url,
                    project_id=project_id,
                    origin="labelstudio",
                    label_config=config.xml,
                )
            )
        syncer = _Sync(project, client, batch_size=batch_size, progress=progress)
        syncer.load(syncer.link())
        syncer.pull()
    except BaseException:
        project.close()
        raise
    return project, syncer.report


# ---------------------------------------------------------------------------- the work


class _Sync:
    def __init__(self, project, client: Client, *, batch_size: int, progress: bool):
        self.project = project
        self.store = project.store
        self.schema: Schema = project.schema
        self.client = client
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.report = SyncReport(client.url, 0)
        self.annotator_ids: dict[str, int] = {}
        self._users_cache: dict[int, Any] | None = None

    # ------------------------------------------------------------------ the link

    def link(self):
        with self.store.reading() as conn:
            rows = conn.execute(sa.select(ls_links)).all()
        for row in rows:
            if row.url == self.client.url:
                return row
        if rows:
            linked = ", ".join(f"{r.url} (project {r.project_id})" for r in rows)
            raise LabelStudioError(
                f"{self.project.path} is linked to Label Studio at {linked}, not {self.client.url}"
            )
        return None

    def create_link(self):
        config = LabelConfig.from_schema(self.schema)
        title = self.schema.title
        if len(title) < 3:
            title = f"{title} (labelkit)"
        created = self.client.call(
            "creating the project",
            self.client.sdk.projects.create,
            title=title[:50],
            label_config=config.xml,
            expert_instruction=_html(self.schema.guidelines),
            show_instruction=bool(self.schema.guidelines),
            maximum_annotations=self.project.overlap,
            request_options={"max_retries": 0},
        )
        with self.store.writing() as conn:
            conn.execute(
                ls_links.insert().values(
                    url=self.client.url,
                    project_id=created.id,
                    origin="labelkit",
                    label_config=config.xml,
                )
            )
        self.report.created_project = True
        return self.link()

    def load(self, link) -> None:
        self.link_id = link.id
        self.ls_project = link.project_id
        self.origin = link.origin
        self.report.project_id = link.project_id
        self.pending_key = f"ls_pending:{link.id}"
        self.cursor = link.cursor
        # The config Label Studio has now: what its results follow.
        self.label_config = link.label_config
        self.config = LabelConfig.parse(link.label_config, title=self.schema.title)

    def _update_config(self) -> None:
        """A project made by labelkit follows its schema: push a changed config."""
        if self.origin != "labelkit":
            return
        wanted = schema_to_config(self.schema)
        if wanted == self.label_config:
            return
        self.client.call(
            "updating the labeling config",
            self.client.sdk.projects.update,
            id=self.ls_project,
            label_config=wanted,
            expert_instruction=_html(self.schema.guidelines),
        )
        with self.store.writing() as conn:
            conn.execute(
                ls_links.update().where(ls_links.c.id == self.link_id).values(label_config=wanted)
            )
        self.label_config = wanted
        self.config = LabelConfig.parse(wanted, title=self.schema.title)
        self.report.config_updated = True

    # ------------------------------------------------------------------ users

    def _ls_users(self) -> dict[int, Any]:
        if self._users_cache is None:
            found = self.client.call("listing users", self.client.sdk.users.list)
            self._users_cache = {u.id: u for u in found}
        return self._users_cache

    def _annotator_for(self, conn, ls_user_id: int | None, known: dict) -> int:
        """The annotator of a Label Studio user: the one mapped to it, or one named by email."""
        if ls_user_id in known:
            return known[ls_user_id]
        user = self._ls_users().get(ls_user_id)
        email = (getattr(user, "email", None) or "").strip()
        mapped = conn.execute(
            sa.select(ls_users.c.annotator_id).where(
                ls_users.c.link_id == self.link_id,
                sa.or_(ls_users.c.ls_user_id == ls_user_id, ls_users.c.email == email),
            )
        ).scalar()
        if mapped is not None:
            known[ls_user_id] = mapped
            return mapped
        name = email or f"labelstudio-user-{ls_user_id}"
        if email.endswith("@" + EMAIL_DOMAIN) and getattr(user, "first_name", None):
            name = user.first_name  # a user made by labelkit, named after its annotator
        annotator_id = self._annotator_id(conn, name)
        if email and ls_user_id is not None:
            taken = conn.execute(
                sa.select(ls_users.c.email).where(
                    ls_users.c.link_id == self.link_id, ls_users.c.annotator_id == annotator_id
                )
            ).first()
            if taken is None:
                conn.execute(
                    ls_users.insert().values(
                        link_id=self.link_id,
                        annotator_id=annotator_id,
                        email=email,
                        ls_user_id=ls_user_id,
                    )
                )
        known[ls_user_id] = annotator_id
        return annotator_id

    def _annotator_id(self, conn, name: str) -> int:
        name = name.strip()[:200]
        if name in self.annotator_ids:
            return self.annotator_ids[name]
        found = conn.execute(sa.select(annotators.c.id).where(annotators.c.name == name)).scalar()
        if found is None:
            found = conn.execute(
                annotators.insert().values(name=name).returning(annotators.c.id)
            ).scalar_one()
        self.annotator_ids[name] = found
        return found

    def _user_ids(self, annotator_ids: set[int], user_map: dict[str, str]) -> dict[int, int]:
        """Label Studio user ids of these annotators, creating the users that do not exist."""
        with self.store.reading() as conn:
            known = dict(
                conn.execute(
                    sa.select(ls_users.c.annotator_id, ls_users.c.ls_user_id).where(
                        ls_users.c.link_id == self.link_id
                    )
                ).all()
            )
            names = dict(
                conn.execute(
                    sa.select(annotators.c.id, annotators.c.name).where(
                        annotators.c.id.in_(annotator_ids - set(known))
                    )
                ).all()
            )
        if not names:
            return known
        by_email = {(u.email or "").lower(): u.id for u in self._ls_users().values() if u.email}
        rows = []
        for annotator_id, name in sorted(names.items()):
            email = user_email(name, user_map)
            user_id = by_email.get(email.lower())
            if user_id is None:
                user = self.client.call(
                    f"creating the user {email}",
                    self.client.sdk.users.create,
                    email=email,
                    username=email[:150],
                    first_name=name[:150],
                    request_options={"max_retries": 0},
                )
                user_id = user.id
                by_email[email.lower()] = user_id
                self._ls_users()[user_id] = user
            known[annotator_id] = user_id
            rows.append(
                {
                    "link_id": self.link_id,
                    "annotator_id": annotator_id,
                    "email": email,
                    "ls_user_id": user_id,
                }
            )
        with self.store.writing() as conn:
            conn.execute(ls_users.insert(), rows)
        return known

    # ------------------------------------------------------------------ resume

    def resume(self) -> None:
        """After a run that died inside a task import: map what Label Studio did commit.

        The import's tasks are found by the item key in their meta (and their annotations by
        import id) in a full read of the project, the same way a pull maps tasks.
        """
        with self.store.reading() as conn:
            pending = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == self.pending_key)
            ).scalar()
        if pending is None:
            return
        tasks = self.client.export(self.ls_project)
        for start in range(0, len(tasks), self.batch_size):
            self._pull_batch(tasks[start : start + self.batch_size])
        with self.store.writing() as conn:
            self._clear_pending(conn)

    def _set_pending(self, value: dict) -> None:
        with self.store.writing() as conn:
            self._clear_pending(conn)
            conn.execute(meta.insert().values(key=self.pending_key, value=value))

    def _clear_pending(self, conn) -> None:
        conn.execute(meta.delete().where(meta.c.key == self.pending_key))

    # ------------------------------------------------------------------ pull

    def pull(self) -> None:
        """Tasks changed since the last pull: the first pull reads the export; later pulls
        list (id, updated_at) of tasks updated after the cursor (less a minute) and read in
        full only those whose updated_at differs from the one last pulled."""
        newest = self.cursor
        if self.cursor is None:
            tasks: Iterable[dict] = self.client.export(self.ls_project)
        else:
            since = stamp(dt.datetime.fromisoformat(self.cursor) - PULL_OVERLAP)
            stamps = self.client.updated_since(self.ls_project, since)
            with self.store.reading() as conn:
                seen = dict(
                    conn.execute(
                        sa.select(ls_tasks.c.task_id, ls_tasks.c.ls_updated_at).where(
                            ls_tasks.c.link_id == self.link_id
                        )
                    ).all()
                )
            changed = [t["id"] for t in stamps if seen.get(t["id"]) != stamp(t["updated_at"])]
            tasks = self.client.tasks_by_id(self.ls_project, changed) if changed else []
        bar = tqdm(desc="pull tasks", unit=" tasks", disable=not self.progress)
        try:
            batch: list[dict] = []
            for task in tasks:
                batch.append(task)
                times = [task.get("updated_at")]
                times += [a.get("updated_at") for a in task.get("annotations") or []]
                for value in filter(None, map(stamp, times)):
                    if newest is None or value > newest:
                        newest = value
                if len(batch) >= self.batch_size:
                    self._pull_batch(batch)
                    bar.update(len(batch))
                    batch = []
            if batch:
                self._pull_batch(batch)
                bar.update(len(batch))
        finally:
            bar.close()
        if newest != self.cursor:  # only once every task is in: an interrupted pull re-reads
            with self.store.writing() as conn:
                conn.execute(
                    ls_links.update().where(ls_links.c.id == self.link_id).values(cursor=newest)
                )
            self.cursor = newest

    def _pull_batch(self, tasks: list[dict]) -> None:
        """Map new tasks and append changed annotations of one batch, in one transaction."""
        link = self.link_id
        task_ids = [t["id"] for t in tasks]
        with self.store.writing() as conn:
            mapped = dict(
                conn.execute(
                    sa.select(ls_tasks.c.task_id, ls_tasks.c.item_id).where(
                        ls_tasks.c.link_id == link, ls_tasks.c.task_id.in_(task_ids)
                    )
                ).all()
            )
            unmapped = [t for t in tasks if t["id"] not in mapped]
            if unmapped:
                mapped.update(self._map_new_tasks(conn, unmapped))
            item_ids = sorted(set(mapped.values()))
            item_data = dict(
                conn.execute(
                    sa.select(items.c.id, items.c.data).where(items.c.id.in_(item_ids))
                ).all()
            )
            rows = conn.execute(
                sa.select(ls_annotations).where(
                    ls_annotations.c.link_id == link,
                    ls_annotations.c.kind == "annotation",
                    ls_annotations.c.ls_task_id.in_(task_ids),
                )
            ).all()
            by_ls_id: dict[int, Any] = {}
            for row in rows:  # the newest version mapped to each Label Studio annotation
                if row.ls_annotation_id is not None:
                    old = by_ls_id.get(row.ls_annotation_id)
                    if old is None or row.annotation_id > old.annotation_id:
                        by_ls_id[row.ls_annotation_id] = row
            unseen = {
                (r.ls_task_id, r.annotation_id): r for r in rows if r.ls_annotation_id is None
            }
            history: defaultdict[tuple, list] = defaultdict(list)  # (item, annotator) -> versions
            version_of: dict[int, Any] = {}
            for row in conn.execute(
                sa.select(
                    annotations.c.id,
                    annotations.c.item_id,
                    annotations.c.annotator_id,
                    annotations.c.version,
                    annotations.c.status,
                    annotations.c.answer,
                    annotations.c.client_key,
                )
                .where(annotations.c.item_id.in_(item_ids))
                .order_by(annotations.c.version)
            ):
                history[(row.item_id, row.annotator_id)].append(row)
                version_of[row.id] = row
            known_users: dict = {}
            records: list[dict] = []
            new_maps: list[dict] = []
            updates: list[dict] = []
            for task in tasks:
                item_id = mapped.get(task["id"])
                if item_id is None:
                    continue
                data = item_data[item_id]
                ordered = sorted(
                    task.get("annotations") or [],
                    key=lambda a: (stamp(a.get("updated_at")) or "", a["id"]),
                )
                for ann in ordered:
                    updated = stamp(ann.get("updated_at"))
                    prior = by_ls_id.get(ann["id"])
                    if prior is None and ann.get("import_id") is not None:
                        prior = unseen.get((task["id"], ann["import_id"]))
                    if prior is not None and prior.ls_updated_at == updated:
                        continue  # as we last saw (or wrote) it
                    author = _user_id(ann.get("completed_by"))
                    if prior is not None:
                        annotator_id = version_of[prior.annotation_id].annotator_id
                    else:
                        annotator_id = self._annotator_for(conn, author, known_users)
                    status, answer = self._read_annotation(task, ann, data, author)
                    if status is None:
                        continue
                    if prior is not None:
                        mine = version_of[prior.annotation_id]
                        if (mine.status, mine.answer) == (status, answer):
                            updates.append(
                                {
                                    "b_annotation": prior.annotation_id,
                                    "b_ls_id": ann["id"],
                                    "b_updated": updated,
                                }
                            )
                            continue
                    versions = history[(item_id, annotator_id)]
                    key = f"ls{link}-{ann['id']}-{_hash(updated)}"
                    if any(v.client_key == key for v in versions):
                        continue  # appended by an earlier run (its mapping is there too)
                    record = {
                        "item_id": item_id,
                        "annotator_id": annotator_id,
                        "version": (versions[-1].version if versions else 0) + 1,
                        "status": status,
                        "answer": answer,
                        "comment": None,
                        "duration_ms": _duration(ann.get("lead_time")),
                        "client_key": key,
                    }
                    records.append(record)
                    versions.append(_Version(record))
                    new_maps.append(
                        {
                            "client_key": key,
                            "ls_annotation_id": ann["id"],
                            "ls_task_id": task["id"],
                            "ls_updated_at": updated,
                        }
                    )
            if records:
                self._append(conn, records, history, new_maps)
            stamps = [
                {"b_task": t["id"], "b_stamp": stamp(t.get("updated_at"))}
                for t in tasks
                if t["id"] in mapped
            ]
            if stamps:
                conn.execute(
                    ls_tasks.update()
                    .where(ls_tasks.c.link_id == link, ls_tasks.c.task_id == sa.bindparam("b_task"))
                    .values(ls_updated_at=sa.bindparam("b_stamp")),
                    stamps,
                )
            if updates:
                conn.execute(
                    ls_annotations.update()
                    .where(
                        ls_annotations.c.link_id == link,
                        ls_annotations.c.annotation_id == sa.bindparam("b_annotation"),
                        ls_annotations.c.kind == "annotation",
                    )
                    .values(
                        ls_annotation_id=sa.bindparam("b_ls_id"),
                        ls_updated_at=sa.bindparam("b_updated"),
                    ),
                    updates,
                )

    def _append(self, conn, records: list[dict], history, new_maps: list[dict]) -> None:
        """Append annotation versions as `Store.submit(history=True)` does (version,
        answer_count, dynamic overlap settling), in bulk, with their mappings. Past answers:
        no suspension check, gold scoring or honeypot (they were given in Label Studio)."""
        inserted = conn.execute(
            annotations.insert().returning(annotations.c.id, annotations.c.client_key),
            records,
        ).all()
        ids = {key: annotation_id for annotation_id, key in inserted}
        new_keys = set(ids)
        counted: defaultdict[int, int] = defaultdict(int)
        for pair in {(r["item_id"], r["annotator_id"]) for r in records}:
            versions = history[pair]
            before = [v for v in versions if v.client_key not in new_keys]
            added = [v for v in versions if v.client_key in new_keys]
            had = any(v.status == "submitted" for v in before)
            if not had and any(v.status == "submitted" for v in added):
                counted[pair[0]] += 1
        if counted:
            conn.execute(
                items.update()
                .where(items.c.id == sa.bindparam("b_item"))
                .values(answer_count=items.c.answer_count + sa.bindparam("b_count")),
                [{"b_item": item, "b_count": n} for item, n in counted.items()],
            )
        rule = self.project.overlap_rule
        if isinstance(rule, DynamicOverlap):  # enough answers now? as Store.submit asks
            for item_id in sorted({r["item_id"] for r in records if r["status"] == "submitted"}):
                settle(conn, item_id, rule)
        conn.execute(
            ls_annotations.insert(),
            [
                {
                    "link_id": self.link_id,
                    "annotation_id": ids[m["client_key"]],
                    "kind": "annotation",
                    "direction": "pull",
                    "ls_annotation_id": m["ls_annotation_id"],
                    "ls_task_id": m["ls_task_id"],
                    "ls_updated_at": m["ls_updated_at"],
                }
                for m in new_maps
            ],
        )
        self.report.annotations_pulled += len(records)

    def _read_annotation(self, task, ann, data, author):
        """(status, answer) of a Label Studio annotation, or (None, None) when invalid."""
        if ann.get("was_cancelled"):
            return "skipped", None
        try:
            answer = result_to_answer(self.config, ann.get("result") or [], data)
            return "submitted", self.schema.validate_answer(answer, data)
        except (ResultError, AnswerError) as exc:
            user = self._ls_users().get(author)
            who = getattr(user, "email", None) or f"user {author}"
            self.report.invalid.append(
                f"task {task['id']}, annotation {ann['id']} by {who}: {'; '.join(exc.problems)}"
            )
            return None, None

    def _map_new_tasks(self, conn, tasks: list[dict]) -> dict[int, int]:
        """Items of tasks not mapped yet: ours from an interrupted push (found by the key in
        the task's meta), or new items made from the task data. Returns task id -> item id."""
        found: dict[int, int] = {}
        keys = {}
        for task in tasks:
            task_meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
            if task_meta.get("labelkit_key"):
                keys[task["id"]] = str(task_meta["labelkit_key"])
        if keys:
            by_key = dict(
                conn.execute(
                    sa.select(items.c.key, items.c.id).where(items.c.key.in_(set(keys.values())))
                ).all()
            )
            taken = set(
                conn.execute(
                    sa.select(ls_tasks.c.item_id).where(
                        ls_tasks.c.link_id == self.link_id,
                        ls_tasks.c.item_id.in_(list(by_key.values())),
                    )
                ).scalars()
            )
            for task in tasks:
                item_id = by_key.get(keys.get(task["id"], ""))
                if item_id is not None and item_id not in taken:
                    taken.add(item_id)
                    found[task["id"]] = item_id
                    self._map_task(conn, item_id, task["id"])
                    self._recover_annotations(conn, item_id, task)
                    self.report.recovered_tasks += 1
        new = []
        for task in tasks:
            if task["id"] in found:
                continue
            task_meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
            data = self.config.item_data(task.get("data") or {}, task_meta.get("labelkit_markdown"))
            problems = []
            for f in self.schema.fields:
                value = data.get(f.name)
                if f.type == "image" and isinstance(value, str) and value.startswith("/"):
                    data[f.name] = value = self.client.url + value  # a file Label Studio serves
                problem = "missing" if value in (None, "") else check_field_value(f, value)
                if problem:
                    problems.append(f"field {f.name!r}: {problem}")
            if problems:
                self.report.invalid.append(f"task {task['id']}: {'; '.join(problems)}")
                continue
            key = f"labelstudio-{self.ls_project}-{task['id']}"
            new.append((task["id"], {"key": key, "data": data, "content_hash": content_hash(data)}))
        if new:
            made = conn.execute(
                items.insert().returning(items.c.id, items.c.key), [record for _, record in new]
            ).all()
            item_of_key = {key: item_id for item_id, key in made}
            rows = []
            for task_id, record in new:
                found[task_id] = item_of_key[record["key"]]
                rows.append(
                    {"link_id": self.link_id, "item_id": found[task_id], "task_id": task_id}
                )
            conn.execute(ls_tasks.insert(), rows)
            self.report.items_pulled += len(new)
        return found

    def _map_task(self, conn, item_id: int, task_id: int) -> None:
        conn.execute(
            ls_tasks.insert().values(link_id=self.link_id, item_id=item_id, task_id=task_id)
        )

    def _recover_annotations(self, conn, item_id: int, task: dict) -> None:
        """Map the annotations (by import id) and predictions (by model version) that an
        import carried when its answer was lost."""
        ours = set(
            conn.execute(
                sa.select(annotations.c.id).where(annotations.c.item_id == item_id)
            ).scalars()
        )
        rows = []
        for ann in task.get("annotations") or []:
            if ann.get("import_id") in ours:
                rows.append(
                    {"annotation_id": ann["import_id"], "kind": "annotation", "ls_id": None}
                )
        for prediction in task.get("predictions") or []:
            match = re.fullmatch(r"labelkit#(\d+)", str(prediction.get("model_version") or ""))
            if match and int(match.group(1)) in ours:
                rows.append(
                    {
                        "annotation_id": int(match.group(1)),
                        "kind": "prediction",
                        "ls_id": prediction.get("id"),
                    }
                )
        if not rows:
            return
        existing = set(
            conn.execute(
                sa.select(ls_annotations.c.annotation_id, ls_annotations.c.kind).where(
                    ls_annotations.c.link_id == self.link_id,
                    ls_annotations.c.annotation_id.in_([r["annotation_id"] for r in rows]),
                )
            ).all()
        )
        rows = [r for r in rows if (r["annotation_id"], r["kind"]) not in existing]
        if rows:
            conn.execute(
                ls_annotations.insert(),
                [
                    {
                        "link_id": self.link_id,
                        "annotation_id": r["annotation_id"],
                        "kind": r["kind"],
                        "direction": "push",
                        "ls_annotation_id": r["ls_id"],  # None: compared on this pull
                        "ls_task_id": task["id"],
                        "ls_updated_at": None,
                    }
                    for r in rows
                ],
            )

    # ------------------------------------------------------------------ push

    def push(self, *, as_predictions: bool, user_map: dict[str, str]) -> None:
        self._update_config()
        kind = "prediction" if as_predictions else "annotation"
        self._push_tasks(kind, user_map)
        self._push_answers(kind, user_map)

    def _current_answers(self, conn, item_ids: list[int] | None, kind: str):
        """Current versions (submitted or skipped) not yet in Label Studio as `kind`; never
        the ones that came from Label Studio."""
        latest = latest_versions()
        mapped = sa.exists().where(
            ls_annotations.c.link_id == self.link_id,
            ls_annotations.c.annotation_id == annotations.c.id,
            sa.or_(ls_annotations.c.kind == kind, ls_annotations.c.direction == "pull"),
        )
        query = (
            sa.select(
                annotations.c.id,
                annotations.c.item_id,
                annotations.c.annotator_id,
                annotations.c.status,
                annotations.c.answer,
                annotations.c.duration_ms,
            )
            .join(latest, is_latest_version(latest))
            .where(annotations.c.status.in_(PUSHED_STATUSES), ~mapped)
            .order_by(annotations.c.id)
        )
        if item_ids is not None:
            query = query.where(annotations.c.item_id.in_(item_ids))
        return conn.execute(query).all()

    def _push_tasks(self, kind: str, user_map: dict[str, str]) -> None:
        unfinished = sa.select(imports.c.id).where(imports.c.status != "done")
        with self.store.reading() as conn:
            todo = list(
                conn.execute(
                    sa.select(items.c.id)
                    .where(
                        ~sa.exists().where(
                            ls_tasks.c.link_id == self.link_id, ls_tasks.c.item_id == items.c.id
                        ),
                        sa.or_(items.c.import_id.is_(None), items.c.import_id.not_in(unfinished)),
                    )
                    .order_by(items.c.id)
                ).scalars()
            )
        if not todo:
            return
        markdown = [name for name, tag in self.config.fields.items() if tag.tag == "HyperText"]
        bar = tqdm(total=len(todo), desc="push tasks", unit=" tasks", disable=not self.progress)
        try:
            for start in range(0, len(todo), self.batch_size):
                ids = todo[start : start + self.batch_size]
                with self.store.reading() as conn:
                    rows = conn.execute(
                        sa.select(items.c.id, items.c.key, items.c.data)
                        .where(items.c.id.in_(ids))
                        .order_by(items.c.id)
                    ).all()
                    answers = self._current_answers(conn, ids, kind)
                users = {}
                if kind == "annotation" and answers:
                    users = self._user_ids({a.annotator_id for a in answers}, user_map)
                by_item = defaultdict(list)
                for answer in answers:
                    by_item[answer.item_id].append(answer)
                payload = []
                for row in rows:
                    task: dict[str, Any] = {
                        "data": self.config.task_data(row.data),
                        "meta": {"labelkit_key": row.key},
                    }
                    if markdown:
                        task["meta"]["labelkit_markdown"] = {n: row.data.get(n) for n in markdown}
                    made = [self._ls_answer(a, row.data, kind, users) for a in by_item[row.id]]
                    if made:
                        task["annotations" if kind == "annotation" else "predictions"] = made
                    payload.append(task)
                self._set_pending({"op": "import", "items": [ids[0], ids[-1]]})
                response = self.client.call(
                    f"importing tasks {start + 1}-{start + len(ids)} of {len(todo)}",
                    self.client.sdk.projects.import_tasks,
                    id=self.ls_project,
                    request=payload,
                    return_task_ids=True,
                    request_options={"max_retries": 0},
                )
                task_ids = list(response.task_ids or [])
                if len(task_ids) != len(rows):
                    raise LabelStudioError(
                        f"Label Studio imported {len(task_ids)} tasks of {len(rows)}; run the "
                        "sync again to map them"
                    )
                task_of = {row.id: t for row, t in zip(rows, task_ids, strict=True)}
                with self.store.writing() as conn:
                    conn.execute(
                        ls_tasks.insert(),
                        [
                            {"link_id": self.link_id, "item_id": item_id, "task_id": task_id}
                            for item_id, task_id in task_of.items()
                        ],
                    )
                    if answers:
                        conn.execute(
                            ls_annotations.insert(),
                            [
                                {
                                    "link_id": self.link_id,
                                    "annotation_id": a.id,
                                    "kind": kind,
                                    "direction": "push",
                                    "ls_annotation_id": None,  # its import_id is a.id
                                    "ls_task_id": task_of[a.item_id],
                                    "ls_updated_at": None,
                                }
                                for a in answers
                            ],
                        )
                    self._clear_pending(conn)
                self.report.tasks_pushed += len(rows)
                if kind == "annotation":
                    self.report.annotations_pushed += len(answers)
                else:
                    self.report.predictions_pushed += len(answers)
                bar.update(len(rows))
        finally:
            bar.close()

    def _ls_answer(self, answer, item_data: dict, kind: str, users: dict[int, int]) -> dict:
        result = []
        if answer.status == "submitted":
            result = answer_to_result(self.config, answer.answer or {}, item_data)
        if kind == "prediction":
            return {"result": result, "model_version": f"labelkit#{answer.id}"}
        made = {
            "id": answer.id,  # kept by Label Studio as the annotation's import_id
            "result": result,
            "completed_by": users[answer.annotator_id],
            "was_cancelled": answer.status == "skipped",
            "ground_truth": False,
        }
        if answer.duration_ms is not None:
            made["lead_time"] = answer.duration_ms / 1000
        return made

    def _push_answers(self, kind: str, user_map: dict[str, str]) -> None:
        """Answers given or changed in labelkit after their task was pushed, one call each."""
        with self.store.reading() as conn:
            task_of = dict(
                conn.execute(
                    sa.select(ls_tasks.c.item_id, ls_tasks.c.task_id).where(
                        ls_tasks.c.link_id == self.link_id
                    )
                ).all()
            )
            answers = [a for a in self._current_answers(conn, None, kind) if a.item_id in task_of]
        if not answers:
            return
        users = {}
        if kind == "annotation":
            users = self._user_ids({a.annotator_id for a in answers}, user_map)
        bar = tqdm(total=len(answers), desc=f"push {kind}s", disable=not self.progress)
        try:
            for answer in answers:
                with self.store.reading() as conn:
                    data = conn.execute(
                        sa.select(items.c.data).where(items.c.id == answer.item_id)
                    ).scalar_one()
                    earlier = conn.execute(
                        sa.select(ls_annotations.c.annotation_id, ls_annotations.c.ls_annotation_id)
                        .join(annotations, annotations.c.id == ls_annotations.c.annotation_id)
                        .where(
                            ls_annotations.c.link_id == self.link_id,
                            ls_annotations.c.kind == kind,
                            annotations.c.item_id == answer.item_id,
                            annotations.c.annotator_id == answer.annotator_id,
                        )
                        .order_by(annotations.c.version.desc())
                        .limit(1)
                    ).first()
                task_id = task_of[answer.item_id]
                if kind == "annotation":
                    ls_id, updated, created = self._push_annotation(
                        answer, data, task_id, earlier, users
                    )
                else:
                    ls_id, updated, created = self._push_prediction(answer, data, task_id, earlier)
                with self.store.writing() as conn:
                    conn.execute(
                        ls_annotations.insert().values(
                            link_id=self.link_id,
                            annotation_id=answer.id,
                            kind=kind,
                            direction="push",
                            ls_annotation_id=ls_id,
                            ls_task_id=task_id,
                            ls_updated_at=updated,
                        )
                    )
                if kind == "prediction":
                    self.report.predictions_pushed += 1
                elif created:
                    self.report.annotations_pushed += 1
                else:
                    self.report.annotations_updated += 1
                bar.update(1)
        finally:
            bar.close()

    def _find_annotation(self, task_id: int, import_id: int) -> Any | None:
        found = self.client.call(
            f"listing the annotations of task {task_id}",
            self.client.sdk.annotations.list,
            id=task_id,
        )
        return next((a for a in found if a.import_id == import_id), None)

    def _push_annotation(self, answer, data, task_id, earlier, users):
        """Update the Label Studio annotation of this answer's earlier version, or create one.
        Returns (Label Studio id, its updated_at, created?)."""
        sdk = self.client.sdk
        body = self._ls_answer(answer, data, "annotation", users)
        fields = {"result": body["result"], "was_cancelled": body["was_cancelled"]}
        if "lead_time" in body:
            fields["lead_time"] = body["lead_time"]
        ls_id = None
        if earlier is not None:
            ls_id = earlier.ls_annotation_id
            if ls_id is None:  # pushed inside an import and not pulled since
                found = self._find_annotation(task_id, earlier.annotation_id)
                ls_id = found.id if found is not None else None
        if ls_id is not None:
            try:
                made = sdk.annotations.update(
                    id=ls_id, **fields, request_options={"max_retries": 0}
                )
                return ls_id, stamp(made.updated_at), False
            except Exception as exc:
                if _status(exc) != 404:  # 404: deleted in Label Studio, so create it again
                    raise self.client.error(f"updating annotation {ls_id}", exc) from None
        unique = str(uuid.uuid5(NAMESPACE, f"{self.client.url}/{self.ls_project}/{answer.id}"))
        try:
            made = sdk.annotations.create(
                id=task_id,
                **fields,
                completed_by=body["completed_by"],
                ground_truth=False,
                import_id=answer.id,
                unique_id=unique,
                request_options={"max_retries": 0},
            )
            return made.id, stamp(made.updated_at), True
        except Exception as exc:
            if _status(exc) != 409:
                raise self.client.error(f"creating an annotation on task {task_id}", exc) from None
        # 409: an earlier run created it and lost the answer; keep that one.
        found = self._find_annotation(task_id, answer.id)
        if found is None:
            raise LabelStudioError(
                f"Label Studio reports the annotation of labelkit answer {answer.id} on task "
                f"{task_id} as existing but does not list it"
            )
        return found.id, stamp(found.updated_at), True

    def _push_prediction(self, answer, data, task_id, earlier):
        """Update or create the prediction of this answer; a retry finds the one it made
        (its model version names the answer)."""
        sdk = self.client.sdk
        body = self._ls_answer(answer, data, "prediction", {})
        if earlier is not None and earlier.ls_annotation_id is not None:
            made = self.client.call(
                f"updating prediction {earlier.ls_annotation_id}",
                sdk.predictions.update,
                id=earlier.ls_annotation_id,
                result=body["result"],
                model_version=body["model_version"],
            )
            return made.id, stamp(made.updated_at), False
        existing = self.client.call(
            f"listing the predictions of task {task_id}", sdk.predictions.list, task=task_id
        )
        same = next((p for p in existing if p.model_version == body["model_version"]), None)
        if same is None:
            same = self.client.call(
                f"creating a prediction on task {task_id}",
                sdk.predictions.create,
                task=task_id,
                result=body["result"],
                model_version=body["model_version"],
                request_options={"max_retries": 0},
            )
        return same.id, stamp(same.updated_at), True


# ---------------------------------------------------------------------------- small helpers


class _Version:
    """A version appended in this batch, read like a row of the annotations table."""

    def __init__(self, record: dict):
        self.id = None
        self.version = record["version"]
        self.status = record["status"]
        self.answer = record["answer"]
        self.client_key = record["client_key"]


def user_email(name: str, user_map: dict[str, str]) -> str:
    """The Label Studio email of an annotator: mapped, the name itself, or a labelkit address."""
    if name in user_map:
        return user_map[name]
    if EMAIL.match(name):
        return name
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "annotator"
    if slug != name:
        slug = f"{slug[:40]}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"
    return f"{slug}@{EMAIL_DOMAIN}"


def _status(exc: Exception) -> int | None:
    return getattr(exc, "status_code", None)


def _user_id(value: Any) -> int | None:
    if isinstance(value, dict):
        return value.get("id")
    return value


def _duration(lead_time: Any) -> int | None:
    try:
        return None if lead_time is None else round(float(lead_time) * 1000)
    except (TypeError, ValueError):
        return None


def _hash(text: str | None) -> str:
    return hashlib.sha1((text or "").encode()).hexdigest()[:12]


def _html(markdown: str) -> str:
    if not markdown:
        return ""
    from labelkit.ui.render import markdown_html

    return markdown_html(markdown)
