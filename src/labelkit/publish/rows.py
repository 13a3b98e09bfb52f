"""Stream a project's items, each with its annotators' current answers, for the views.

Two ordered queries (items by id; current annotations by item) in one read transaction (one
snapshot), merged in Python: memory holds one item at a time, whatever the project's size.
Hidden gold items and rejected answers are left out unless asked for.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa

from labelkit.store import Store
from labelkit.store.tables import (
    annotations,
    annotators,
    gold,
    imports,
    items,
    newest_verdict,
    resolutions,
    reviews,
)

# An answer whose newest review verdict is this is kept out unless asked for; with it, the
# export shows it under this status.
REJECTED = "rejected"
STREAM_ROWS = 2000
STORE_ID_KEY = "export_store_id"  # meta key: a random id telling stores apart


@dataclass(frozen=True)
class Filters:
    include_gold: bool = False
    include_rejected: bool = False


NO_FILTERS = Filters()


@dataclass
class ItemRecord:
    id: int
    key: str
    data: dict
    language: str | None
    level: int
    gold: dict | None  # {"answer", "explanation"} when included and the item is gold
    annotations: list[dict] = field(default_factory=list)  # one per annotator, current version

    def submitted(self) -> list[dict]:
        return [a for a in self.annotations if a["status"] == "submitted"]


def _ready():
    unfinished = sa.select(imports.c.id).where(imports.c.status != "done")
    return sa.or_(items.c.import_id.is_(None), items.c.import_id.not_in(unfinished))


def _items_query(filters: Filters):
    # JSON read as text and decoded here: the column type's per-value hook is slower.
    query = (
        sa.select(
            items.c.id,
            items.c.key,
            sa.type_coerce(items.c.data, sa.Text),
            items.c.language,
            items.c.level,
            sa.type_coerce(gold.c.answer, sa.Text),
            gold.c.explanation,
        )
        .outerjoin(gold, gold.c.item_id == items.c.id)
        .where(_ready())
        .order_by(items.c.id)
    )
    if not filters.include_gold:
        query = query.where(gold.c.item_id.is_(None))
    return query


def _current_annotations_query(filters: Filters, sqlite: bool):
    newer = sa.alias(annotations, "newer")
    rejected = sa.func.coalesce(newest_verdict(), "") == REJECTED
    query = (
        sa.select(
            annotations.c.item_id,
            annotations.c.id,
            annotators.c.name,
            sa.case((rejected, REJECTED), else_=annotations.c.status),
            annotations.c.version,
            sa.type_coerce(annotations.c.answer, sa.Text),
            annotations.c.comment,
            annotations.c.duration_ms,
            # SQLite's text parsed below (faster than the dialect's regex); PostgreSQL's
            # driver gives datetimes.
            sa.type_coerce(annotations.c.created_at, sa.Text)
            if sqlite
            else annotations.c.created_at,
        )
        .join(annotators, annotators.c.id == annotations.c.annotator_id)
        .where(
            ~sa.exists().where(
                newer.c.item_id == annotations.c.item_id,
                newer.c.annotator_id == annotations.c.annotator_id,
                newer.c.version > annotations.c.version,
            )
        )
        # (item_id, annotator_id) leads the unique version index: the sort is an index walk.
        .order_by(annotations.c.item_id, annotations.c.annotator_id)
    )
    if not filters.include_rejected:
        query = query.where(~rejected)
    return query


def item_records(store: Store, filters: Filters = NO_FILTERS) -> Iterator[ItemRecord]:
    """Every ready item in id order with its current annotations (oldest annotator first)."""
    loads = json.loads
    with store.reading() as conn, conn.begin():
        streaming = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS)
        item_rows = _plain_rows(streaming.execute(_items_query(filters)))
        answer_rows = _plain_rows(
            streaming.execute(_current_annotations_query(filters, store.url.startswith("sqlite")))
        )
        pending = next(answer_rows, None)
        for item_id, key, data, language, level, gold_answer, explanation in item_rows:
            record = ItemRecord(item_id, key, loads(data), language, level, None)
            if gold_answer is not None:
                record.gold = {"answer": loads(gold_answer), "explanation": explanation}
            # Answers of items not exported (gold, unfinished imports) are passed over.
            while pending is not None and pending[0] < item_id:
                pending = next(answer_rows, None)
            found = record.annotations
            while pending is not None and pending[0] == item_id:
                _, id_, name, status, version, answer, comment, duration, created = pending
                found.append(
                    {
                        "id": id_,
                        "annotator": name,
                        "status": status,
                        "version": version,
                        "answer": None if answer is None else loads(answer),
                        "answer_json": answer,  # the stored text, for views that copy it
                        "comment": comment,
                        "duration_ms": duration,
                        # SQLite gives CURRENT_TIMESTAMP's text (UTC), PostgreSQL a datetime.
                        "created_at": _utc(created) if type(created) is str else created,
                    }
                )
                pending = next(answer_rows, None)
            yield record


def _utc(text: str) -> dt.datetime:
    """SQLite's timestamp text (UTC, no offset) as an aware datetime."""
    try:
        return dt.datetime.fromisoformat(text + "+00:00")  # the usual case, one C call
    except ValueError:  # written with an offset already
        parsed = dt.datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _plain_rows(result) -> Iterator[tuple]:
    """Rows (tuple-like), fetched in chunks: cheaper per row than the Result's own iterator."""
    for chunk in result.partitions():
        yield from chunk


def count_items(store: Store, filters: Filters = NO_FILTERS) -> int:
    query = sa.select(sa.func.count()).select_from(_items_query(filters).order_by(None).subquery())
    with store.reading() as conn:
        return conn.execute(query).scalar_one()


def snapshot_token(store: Store, filters: Filters) -> str:
    """Changes whenever the exported labels may have: a cache key for built datasets.

    Answers and items are only ever appended (an edit is a new version), so the newest ids and
    counts tell a change; a random id kept in the store tells two stores apart (a project
    deleted and made again has the same counts).
    """
    store_id = store.get_meta(STORE_ID_KEY)
    if store_id is None:
        store_id = uuid.uuid4().hex
        store.set_meta(STORE_ID_KEY, store_id)
    with store.reading() as conn:
        figures = conn.execute(
            sa.select(
                sa.select(sa.func.max(annotations.c.id)).scalar_subquery(),
                sa.select(sa.func.count()).select_from(annotations).scalar_subquery(),
                sa.select(sa.func.max(items.c.id)).scalar_subquery(),
                sa.select(sa.func.count()).select_from(items).where(_ready()).scalar_subquery(),
                sa.select(sa.func.count()).select_from(gold).scalar_subquery(),
                # verdicts and resolutions change what is exported (rejected, consensus)
                sa.select(sa.func.max(reviews.c.id)).scalar_subquery(),
                sa.select(sa.func.max(resolutions.c.id)).scalar_subquery(),
            )
        ).one()
    key = json.dumps([store_id, list(figures), filters.__dict__], default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:32]
