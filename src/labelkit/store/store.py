"""The label store: items, gold, annotators and append-only annotations in SQL.

It knows no widget and no schema validation (the project does that); it guarantees that what a
call reports as written is committed, and that a retried submit never writes twice.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from labelkit.errors import StoreError
from labelkit.store import migrations
from labelkit.store.tables import (
    ANNOTATION_STATUSES,
    annotations,
    annotators,
    gold,
    imports,
    items,
    meta,
)
from labelkit.store.writer_lock import WriterLock
from labelkit.team import assignment
from labelkit.team.accounts import AccessDenied, suspended_message
from labelkit.team.overlap import DynamicOverlap, settle

SQLITE_FILE = "labelkit.db"
SYNCHRONOUS_VARIABLE = "LABELKIT_SQLITE_SYNCHRONOUS"


@dataclass(frozen=True)
class Item:
    id: int
    key: str
    data: dict
    metadata: dict | None = None
    suggestions: dict | None = None
    language: str | None = None
    level: int = 0
    sensitive: bool = False
    warnings: tuple[str, ...] | list[str] | None = None  # content-warning categories
    lease_until: float | None = None  # when the annotator's lease on it ends (epoch seconds)


@dataclass(frozen=True)
class Annotation:
    id: int
    item_id: int
    annotator_id: int
    version: int
    status: str
    answer: dict | None
    client_key: str
    created: bool  # False when the client key had already been written (a retry)


def sqlite_url(folder: str | Path) -> str:
    return f"sqlite:///{Path(folder).resolve() / SQLITE_FILE}"


def make_engine(url: str) -> sa.Engine:
    """An engine tuned for labeling: SQLite in WAL mode with durable commits, or PostgreSQL."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30})
    # NORMAL (WAL) still survives a killed process, not a power cut: for throwaway test stores,
    # like the test PostgreSQL's fsync=off. Anything else than NORMAL means FULL.
    synchronous = "NORMAL" if os.environ.get(SYNCHRONOUS_VARIABLE) == "NORMAL" else "FULL"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # FULL: a commit survives a power cut
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the lock up front: no deadlock upgrading a read lock under contention.
        immediate = conn.get_execution_options().get("labelkit_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    """One project's labels in one database (a SQLite file or a PostgreSQL database)."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.clock = time.time  # leases are in epoch seconds; tests put in a fake clock
        self.wellbeing = None  # the project's wellbeing.Limits: exposure to sensitive items
        # annotator id -> the exposure limit found when their next item was chosen (None: none
        # reached). The session takes it from here instead of counting a second time.
        self.exposure_found: dict[int, str | None] = {}
        # The project's gold.control.QualityControl: honeypots, gold scores, speed checks,
        # run inside the submit transaction (see _submit). None: a bare store.
        self.quality = None
        database = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        in_file = database not in (None, "", ":memory:")
        self._writer_lock = WriterLock(f"{database}.writer-lock" if in_file else None)
        try:
            self.upgraded_from = migrations.upgrade(
                self.engine.execution_options(labelkit_write=True)
            )
        except sa.exc.OperationalError as exc:
            raise StoreError(f"cannot open the label store: {exc.orig}") from None

    def close(self) -> None:
        self.engine.dispose()
        self._writer_lock.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        """A write transaction, committed when the block ends, rolled back on error."""
        with (
            self._writer_lock.held(),
            self.engine.connect().execution_options(labelkit_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ settings

    def get_meta(self, key: str, default: Any = None) -> Any:
        with self.reading() as conn:
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()
        return default if value is None else value

    def set_meta(self, key: str, value: Any) -> None:
        with self.writing() as conn:
            conn.execute(meta.delete().where(meta.c.key == key))
            conn.execute(meta.insert().values(key=key, value=value))

    # ------------------------------------------------------------------ annotators

    def annotator_id(self, name: str, create: bool = True, role: str = "annotator") -> int:
        """The id of annotator `name`, created on first use when `create`."""
        name = name.strip()
        if not name:
            raise StoreError("an annotator needs a name")
        query = sa.select(annotators.c.id).where(annotators.c.name == name)
        with self.reading() as conn:
            found = conn.execute(query).scalar()
        if found is not None or not create:
            if found is None:
                raise StoreError(f"unknown annotator {name!r}")
            return found
        try:
            with self.writing() as conn:
                return conn.execute(
                    annotators.insert().values(name=name, role=role).returning(annotators.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:  # created by another process meanwhile
            with self.reading() as conn:
                return conn.execute(query).scalar_one()

    # ------------------------------------------------------------------ items

    def _ready(self):
        return assignment.ready()

    def item(self, item_id: int) -> Item:
        with self.reading() as conn:
            row = conn.execute(sa.select(*_ITEM_COLUMNS).where(items.c.id == item_id)).first()
        if row is None:
            raise StoreError(f"unknown item {item_id}")
        return Item(**row._mapping)

    def item_by_key(self, key: str) -> Item:
        with self.reading() as conn:
            row = conn.execute(sa.select(*_ITEM_COLUMNS).where(items.c.key == key)).first()
        if row is None:
            raise StoreError(f"unknown item {key!r}")
        return Item(**row._mapping)

    def gold_of(self, item_id: int) -> dict | None:
        with self.reading() as conn:
            row = conn.execute(sa.select(gold).where(gold.c.item_id == item_id)).first()
        if row is None:
            return None
        return {"answer": row.answer, "explanation": row.explanation, "exam": row.exam}

    def next_item(
        self,
        annotator_id: int,
        overlap: int | DynamicOverlap = 1,
        *,
        lease_seconds: float | None = None,
    ) -> Item | None:
        """Lease the next item for this annotator (see team/assignment.py), or None when there
        is nothing left for them. While the lease lives, asking again returns the same item.
        `overlap`: a fixed overlap, or a dynamic one (team/overlap.py)."""
        rules = _rules(overlap, lease_seconds)
        with self.writing() as conn:
            return self._acquire(conn, annotator_id, rules)

    def _acquire(self, conn: sa.Connection, annotator_id: int, rules) -> Item | None:
        blocked = None
        if self.wellbeing is not None and self.wellbeing.active:
            blocked = self.wellbeing.blocked(conn, annotator_id)  # sees this transaction's answer
            self.exposure_found[annotator_id] = blocked
        found = assignment.acquire(
            conn,
            annotator_id,
            rules,
            self.clock(),
            _ITEM_COLUMNS,
            no_sensitive=blocked is not None,
        )
        if found is None:
            return None
        row, until = found
        return Item(**row._mapping, lease_until=until)

    def renew_lease(self, item_id: int, annotator_id: int, lease_seconds: float) -> float | None:
        """Extend the annotator's lease on the item; the new end, or None if they hold none."""
        now = self.clock()
        with self.writing() as conn:
            renewed = assignment.renew(conn, item_id, annotator_id, now, now + lease_seconds)
        return now + lease_seconds if renewed else None

    def rank_items(
        self, order: str, seed: int = 0, first_id: int = 0, *, progress: bool = False
    ) -> int:
        """Write every item's order key from `first_id` on for `order` (committed in chunks,
        so a large project is not locked for long; running it again gives the same keys)."""
        from tqdm.auto import tqdm

        with self.reading() as conn:
            last = conn.execute(sa.select(sa.func.max(items.c.id))).scalar() or 0
        step, done = 100_000, 0
        with tqdm(total=max(0, last - first_id + 1), unit=" items", disable=not progress) as bar:
            for start in range(first_id, last + 1, step):
                end = min(start + step - 1, last)
                with self.writing() as conn:
                    done += assignment.rank_items(conn, order, seed, start, end)
                bar.update(end - start + 1)
        return done

    def analyze(self) -> None:
        """Refresh PostgreSQL's planner statistics after a bulk import: fresh tables have none,
        and a plan guessed without them can turn the next-item seek into a scan."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE items")

    def last_item_id(self) -> int:
        with self.reading() as conn:
            return conn.execute(sa.select(sa.func.max(items.c.id))).scalar() or 0

    # ------------------------------------------------------------------ annotations

    def submit(
        self,
        item_id: int,
        annotator_id: int,
        answer: dict | None,
        *,
        status: str = "submitted",
        client_key: str | None = None,
        comment: str | None = None,
        duration_ms: int | None = None,
        overlap: int | DynamicOverlap = 1,
        history: bool = False,
    ) -> Annotation:
        """Append an answer (or a skip / escalation) and commit before returning.

        A second call with the same `client_key` returns the first annotation unchanged.
        Answering an item again makes a new version; the older one stays. The annotator's
        lease on the item ends: its slot is filled (or, for a skip, free for someone else).
        A suspended annotator's answer is refused (AccessDenied). With a dynamic `overlap`,
        the item may settle (team/overlap.py) in the same transaction.

        `history=True` (imports of past answers only: a published release, a Label Studio
        pull): the answer was given earlier, so the live-session rules are skipped: no
        suspension check, no gold scoring, speed check or honeypot. Overlap still applies.
        """
        what = dict(status=status, client_key=client_key, comment=comment, duration_ms=duration_ms)
        dynamic = overlap if isinstance(overlap, DynamicOverlap) else None
        return self._submit(
            item_id, annotator_id, answer, None, dynamic=dynamic, history=history, **what
        )[0]

    def submit_and_next(
        self,
        item_id: int,
        annotator_id: int,
        answer: dict | None,
        *,
        overlap: int | DynamicOverlap = 1,
        lease_seconds: float | None = None,
        status: str = "submitted",
        client_key: str | None = None,
        comment: str | None = None,
        duration_ms: int | None = None,
    ) -> tuple[Annotation, Item | None]:
        """`submit`, then lease the next item (as `next_item`) in the same transaction: one
        commit per answer, which is what keeps a labeling session fast."""
        what = dict(status=status, client_key=client_key, comment=comment, duration_ms=duration_ms)
        rules = _rules(overlap, lease_seconds)
        return self._submit(item_id, annotator_id, answer, rules, dynamic=rules.dynamic, **what)

    def _submit(
        self,
        item_id,
        annotator_id,
        answer,
        rules,
        *,
        status,
        client_key,
        comment,
        duration_ms,
        dynamic=None,
        history=False,
    ) -> tuple[Annotation, Item | None]:
        if status not in ANNOTATION_STATUSES:
            raise StoreError(f"status {status!r} is not one of {ANNOTATION_STATUSES}")
        generated = client_key is None  # a fresh uuid cannot have been written before
        client_key = client_key or uuid.uuid4().hex
        if len(client_key) > 64:
            raise StoreError("a client key has at most 64 characters")
        try:
            with self.writing() as conn:
                earlier = None if generated else self._by_client_key(conn, client_key)
                if earlier is not None:
                    annotation = self._same_request(earlier, item_id, annotator_id)
                else:
                    if not history:  # a past answer is history, whoever gave it
                        _ensure_active(conn, annotator_id)
                    annotation, state = self._append(
                        conn,
                        item_id,
                        annotator_id,
                        answer,
                        status,
                        client_key,
                        comment,
                        duration_ms,
                    )
                    assignment.release(conn, item_id, annotator_id)
                    if self.quality is not None and not history:  # gold, speed, honeypot
                        self.quality.after_answer(
                            conn,
                            annotation,
                            gold_item=bool(state.gold),
                            first=state.version is None,
                            duration_ms=duration_ms,
                        )
                    if dynamic is not None and status == "submitted":
                        settle(conn, item_id, dynamic)  # enough answers now? (team/overlap.py)
                following = None if rules is None else self._acquire(conn, annotator_id, rules)
                return annotation, following
        except sa.exc.IntegrityError:
            # Lost a race: the same client key (a concurrent retry) or the same version.
            with self.reading() as conn:
                earlier = self._by_client_key(conn, client_key)
            if earlier is None:
                raise
        annotation = self._same_request(earlier, item_id, annotator_id)
        if rules is None:
            return annotation, None
        return annotation, self.next_item(
            annotator_id, rules.dynamic or rules.overlap, lease_seconds=rules.lease_seconds
        )

    def _append(
        self, conn, item_id, annotator_id, answer, status, client_key, comment, duration_ms
    ) -> tuple[Annotation, Any]:
        """Write the annotator's next version of their answer to the item; returns it and
        the item's state before it (version: their latest before, None for a first answer)."""
        state = conn.execute(
            _SUBMIT_STATE, {"item_id": item_id, "annotator_id": annotator_id}
        ).first()
        if state is None:
            raise StoreError(f"unknown item {item_id}")
        version = (state.version or 0) + 1
        values = dict(item_id=item_id, annotator_id=annotator_id, version=version, status=status)
        values |= dict(answer=answer, comment=comment, duration_ms=duration_ms)
        new_id = conn.execute(_INSERT_ANNOTATION, values | {"client_key": client_key}).scalar_one()
        if status == "submitted" and state.submitted == 0:  # a new annotator for this item
            conn.execute(_COUNT_ANSWER, {"item_id": item_id})
        if state.sensitive and state.version is None:  # shown a sensitive item: exposure
            conn.execute(EXPOSED, {"item_id": item_id, "annotator_id": annotator_id})
        annotation = Annotation(
            new_id, item_id, annotator_id, version, status, answer, client_key, created=True
        )
        return annotation, state

    @staticmethod
    def _by_client_key(conn: sa.Connection, client_key: str):
        return conn.execute(
            sa.select(annotations).where(annotations.c.client_key == client_key)
        ).first()

    @staticmethod
    def _same_request(row, item_id: int, annotator_id: int) -> Annotation:
        if (row.item_id, row.annotator_id) != (item_id, annotator_id):
            raise StoreError("this client key was already used for another item or annotator")
        return Annotation(
            row.id,
            row.item_id,
            row.annotator_id,
            row.version,
            row.status,
            row.answer,
            row.client_key,
            created=False,
        )

    def annotation_rows(self, current_only: bool = False) -> Iterator[dict]:
        """Every annotation with its item key and annotator name, oldest first (streamed)."""
        for chunk in self.annotation_chunks(current_only):
            yield from (dict(zip(ANNOTATION_COLUMNS, row, strict=True)) for row in chunk)

    def annotation_chunks(self, current_only: bool = False) -> Iterator[list[tuple]]:
        """annotation_rows' rows as plain tuples (ANNOTATION_COLUMNS), a few thousand at a
        time: what a table is built from without a dict or a Row object per row."""
        latest = latest_versions()
        query = (
            sa.select(
                annotations.c.id,
                items.c.key.label("item"),
                annotations.c.item_id,
                annotators.c.name.label("annotator"),
                annotations.c.version,
                annotations.c.status,
                annotations.c.answer,
                annotations.c.comment,
                annotations.c.duration_ms,
                annotations.c.created_at,
                (latest.c.version.is_not(None)).label("current"),
            )
            .join(items, items.c.id == annotations.c.item_id)
            .join(annotators, annotators.c.id == annotations.c.annotator_id)
            .outerjoin(latest, is_latest_version(latest))
            .order_by(annotations.c.id)
        )
        if current_only:
            query = query.where(latest.c.version.is_not(None))
        with self.reading() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
            for chunk in result.partitions():
                yield [tuple(row) for row in chunk]

    def answered_items(self, annotator_id: int, limit: int = 500) -> list[int]:
        """Items this annotator touched, in the order first touched (the newest `limit`)."""
        first_touch = (
            sa.select(annotations.c.item_id, sa.func.min(annotations.c.id).label("first"))
            .where(annotations.c.annotator_id == annotator_id)
            .group_by(annotations.c.item_id)
            .order_by(sa.desc("first"))
            .limit(limit)
        )
        with self.reading() as conn:
            rows = conn.execute(first_touch).all()
        return [row.item_id for row in reversed(rows)]

    def latest(self, item_id: int, annotator_id: int) -> tuple[str, dict | None] | None:
        """(status, answer) of this annotator's current version for the item, or None."""
        query = (
            sa.select(annotations.c.status, annotations.c.answer)
            .where(annotations.c.item_id == item_id, annotations.c.annotator_id == annotator_id)
            .order_by(annotations.c.version.desc())
            .limit(1)
        )
        with self.reading() as conn:
            row = conn.execute(query).first()
        return None if row is None else (row.status, row.answer)

    def annotator_counts(self, annotator_id: int, since) -> dict[str, int]:
        """Items this annotator answered: in all, and since `since` (a UTC datetime)."""
        mine = sa.and_(
            annotations.c.annotator_id == annotator_id, annotations.c.status == "submitted"
        )
        items_answered = sa.func.count(sa.distinct(annotations.c.item_id))
        with self.reading() as conn:
            done = conn.execute(sa.select(items_answered).where(mine)).scalar_one()
            today = conn.execute(
                sa.select(items_answered).where(mine, annotations.c.created_at >= since)
            ).scalar_one()
        return {"done": done, "today": today}

    # ------------------------------------------------------------------ counts

    def remaining(self, overlap: int = 1) -> int:
        """Items that still need answers: what a labeling session shows after each submit.

        Cheap at 1M items (well under 1 ms when few are complete or few remain), where `counts`'
        grouped scan takes ~1 s: the item total is counted once and kept while the items and
        imports are unchanged, and then only the smaller side of the queue index is counted.
        While an import is unfinished its items must not count yet: the exact, slow way.
        """
        state = sa.select(
            sa.select(sa.func.max(items.c.id)).scalar_subquery(),
            sa.select(sa.func.count()).select_from(imports).scalar_subquery(),
            sa.select(sa.func.max(imports.c.id)).scalar_subquery(),
            sa.select(imports.c.id).where(imports.c.status != "done").exists(),
        )
        with self.reading() as conn:
            *key, unfinished = conn.execute(state).one()
            if unfinished:
                figures = self.counts(overlap)
                return figures["items"] - figures["complete"]
            # Gold items are few and never "remain": count them apart, through the small gold
            # table (`id IN (...)`: a primary-key lookup per gold item; a join let SQLite walk
            # the queue index instead), so the counts below stay on the queue index alone.
            count = sa.select(sa.func.count()).select_from(items)
            n_gold = conn.execute(sa.select(sa.func.count()).select_from(gold)).scalar_one()
            gold_count = count.where(items.c.id.in_(sa.select(gold.c.item_id)))
            cached = self.__dict__.get("_item_total")  # (key, total, last remaining)
            if cached is None or cached[0] != key:
                cached = (key, conn.execute(count).scalar_one(), None)
            total, last = cached[1], cached[2]
            if last is not None and last < total / 2:
                left = conn.execute(count.where(items.c.answer_count < overlap)).scalar_one()
                if n_gold:
                    gold_left = gold_count.where(items.c.answer_count < overlap)
                    left -= conn.execute(gold_left).scalar_one()
            else:
                complete = conn.execute(count.where(items.c.answer_count >= overlap))
                left = total - complete.scalar_one() - n_gold
                if n_gold:
                    gold_complete = gold_count.where(items.c.answer_count >= overlap)
                    left += conn.execute(gold_complete).scalar_one()
        self._item_total = (key, total, left)
        return left

    def counts(self, overlap: int = 1) -> dict[str, int]:
        """Progress figures: items by state, annotations by status, annotators."""
        with self.reading() as conn:
            by_count = conn.execute(
                sa.select(items.c.answer_count, sa.func.count())
                .where(self._ready(), items.c.gold == sa.false())
                .group_by(items.c.answer_count)
            ).all()
            by_status = dict(
                conn.execute(
                    sa.select(annotations.c.status, sa.func.count()).group_by(annotations.c.status)
                ).all()
            )
            n_gold = conn.execute(sa.select(sa.func.count()).select_from(gold)).scalar_one()
            n_annotators = conn.execute(
                sa.select(sa.func.count()).select_from(annotators)
            ).scalar_one()
            unfinished = conn.execute(
                sa.select(sa.func.count()).select_from(imports).where(imports.c.status == "running")
            ).scalar_one()
        total = sum(n for _, n in by_count)
        complete = sum(n for c, n in by_count if c >= overlap)
        started = sum(n for c, n in by_count if 0 < c < overlap)
        return {
            "items": total,
            "complete": complete,
            "in_progress": started,
            "not_started": total - complete - started,
            "gold_items": n_gold,
            "annotations": sum(by_status.values()),
            **{status: by_status.get(status, 0) for status in ANNOTATION_STATUSES},
            "annotators": n_annotators,
            "unfinished_imports": unfinished,
        }


# The columns of annotation_rows / annotation_chunks, in order.
ANNOTATION_COLUMNS = (
    "id",
    "item",
    "item_id",
    "annotator",
    "version",
    "status",
    "answer",
    "comment",
    "duration_ms",
    "created_at",
    "current",
)

_ITEM_COLUMNS = (
    items.c.id,
    items.c.key,
    items.c.data,
    items.c.metadata,
    items.c.suggestions,
    items.c.language,
    items.c.level,
    items.c.sensitive,
    items.c.warnings,
)


def _rules(overlap: int | DynamicOverlap, lease_seconds: float | None) -> assignment.Rules:
    return assignment.Rules.of(overlap, lease_seconds or assignment.DEFAULT_LEASE_SECONDS)


# The annotator's standing, read in the submit transaction. On PostgreSQL the row lock makes a
# suspension wait for an answer already being written, or the answer see the suspension.
_STANDING = (
    sa.select(annotators.c.name, annotators.c.status)
    .where(annotators.c.id == sa.bindparam("annotator_id"))
    .with_for_update(key_share=True)
)


def _ensure_active(conn: sa.Connection, annotator_id: int) -> None:
    """Refuse the answer of a suspended (or unknown) annotator, inside the transaction that
    would write it: a suspension committed first always wins over a session's earlier check."""
    row = conn.execute(_STANDING, {"annotator_id": annotator_id}).first()
    if row is None:
        raise StoreError(f"unknown annotator id {annotator_id}")
    if row.status != "active":
        raise AccessDenied("suspended", suspended_message(row.name), row.name)


def _submit_state_query():
    """Whether the item exists, and the annotator's latest version and submitted count of it:
    one statement (built once) instead of two on the submit path."""
    mine = sa.and_(
        annotations.c.item_id == sa.bindparam("item_id"),
        annotations.c.annotator_id == sa.bindparam("annotator_id"),
    )
    version = sa.select(sa.func.max(annotations.c.version)).where(mine).scalar_subquery()
    submitted = (
        sa.select(sa.func.count())
        .where(mine, annotations.c.status == "submitted")
        .scalar_subquery()
    )
    return sa.select(
        items.c.id,
        items.c.gold,
        items.c.sensitive,
        version.label("version"),
        submitted.label("submitted"),
    ).where(items.c.id == sa.bindparam("item_id"))


_SUBMIT_STATE = _submit_state_query()
_INSERT_ANNOTATION = annotations.insert().returning(annotations.c.id)
# Both databases take ON CONFLICT: an item flagged sensitive at the same moment (which records
# everyone who had acted on it) must not fail the answer.
EXPOSED = sa.text(
    "INSERT INTO exposures (annotator_id, item_id) VALUES (:annotator_id, :item_id)"
    " ON CONFLICT DO NOTHING"
)
_COUNT_ANSWER = (
    items.update()
    .where(items.c.id == sa.bindparam("item_id"))
    .values(answer_count=items.c.answer_count + 1)
)


def latest_versions() -> sa.Subquery:
    """(item_id, annotator_id, version): each annotator's current version of each item."""
    return (
        sa.select(
            annotations.c.item_id,
            annotations.c.annotator_id,
            sa.func.max(annotations.c.version).label("version"),
        )
        .group_by(annotations.c.item_id, annotations.c.annotator_id)
        .subquery()
    )


def is_latest_version(latest: sa.Subquery) -> sa.ColumnElement[bool]:
    """Join condition: this annotation row is the current version (see latest_versions)."""
    return sa.and_(
        latest.c.item_id == annotations.c.item_id,
        latest.c.annotator_id == annotations.c.annotator_id,
        latest.c.version == annotations.c.version,
    )


def chunks(rows: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
