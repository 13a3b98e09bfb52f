"""An annotator's history: every change of level or status, exam result and warning, with
its reason and who made it ("system" for the rules in labelkit.gold, else the lead's name).

Events are written with a microsecond UTC timestamp from Python (not the database's
CURRENT_TIMESTAMP, whole seconds on SQLite), because the rolling gold accuracy counts the
gold answers given after the annotator's last change of standing (see `standing_since`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from labelkit.i18n import DEFAULT_LOCALE, Message
from labelkit.store.tables import annotator_events, annotators

KINDS = ("level", "status", "exam", "warning")
# A change of standing starts a fresh gold window: a promotion, a demotion, a suspension or
# resumption, a retry, a passed retry exam, a warning (so a warning is not repeated per answer).
STANDING_KINDS = ("level", "status", "warning")
SYSTEM = "system"


def now() -> datetime:
    return datetime.now(UTC)


def record(
    conn: sa.Connection,
    annotator_id: int,
    kind: str,
    reason: str | Message,
    *,
    old=None,
    new=None,
    actor: str = SYSTEM,
) -> None:
    """Write one event (in the caller's transaction). `reason`: a Message (the rules' own
    reasons, said later in each reader's language) or a person's words (kept as written)."""
    if kind not in KINDS:
        raise ValueError(f"event kind {kind!r} is not one of {KINDS}")
    conn.execute(
        annotator_events.insert().values(
            annotator_id=annotator_id,
            kind=kind,
            old=None if old is None else str(old)[:64],
            new=None if new is None else str(new)[:64],
            reason=str(reason),
            reason_message=reason.to_json() if isinstance(reason, Message) else None,
            actor=(actor or SYSTEM)[:200],
            created_at=now(),
        )
    )


def change(
    conn: sa.Connection,
    annotator_id: int,
    reason: str | Message,
    *,
    level: int | None = None,
    status: str | None = None,
    actor: str = SYSTEM,
) -> dict:
    """Set the annotator's level and/or status and record each real change with `reason`.
    Returns {"level": (old, new), "status": (old, new)} for what changed."""
    row = conn.execute(
        sa.select(annotators.c.level, annotators.c.status).where(annotators.c.id == annotator_id)
    ).first()
    if row is None:
        raise ValueError(f"unknown annotator id {annotator_id}")
    changed: dict = {}
    if level is not None and level != row.level:
        changed["level"] = (row.level, level)
    if status is not None and status != row.status:
        changed["status"] = (row.status, status)
    if not changed:
        return changed
    values = {key: new for key, (_old, new) in changed.items()}
    conn.execute(annotators.update().where(annotators.c.id == annotator_id).values(**values))
    for kind, (old, new) in changed.items():
        record(conn, annotator_id, kind, reason, old=old, new=new, actor=actor)
    return changed


def standing_since(conn: sa.Connection, annotator_id: int, kinds=STANDING_KINDS):
    """When the annotator's standing last changed (a datetime), or None if it never did."""
    return conn.execute(
        sa.select(annotator_events.c.created_at)
        .where(annotator_events.c.annotator_id == annotator_id, annotator_events.c.kind.in_(kinds))
        .order_by(annotator_events.c.id.desc())
        .limit(1)
    ).scalar()


def last_event(conn: sa.Connection, annotator_id: int, kinds=KINDS):
    return conn.execute(
        sa.select(annotator_events)
        .where(annotator_events.c.annotator_id == annotator_id, annotator_events.c.kind.in_(kinds))
        .order_by(annotator_events.c.id.desc())
        .limit(1)
    ).first()


def events(
    store, annotator_id: int, limit: int | None = None, locale: str = DEFAULT_LOCALE
) -> list[dict]:
    """The annotator's history, newest first: kind, old, new, reason (in `locale` when the
    rules wrote it; a person's words as written), actor, at (ISO UTC)."""
    query = (
        sa.select(annotator_events)
        .where(annotator_events.c.annotator_id == annotator_id)
        .order_by(annotator_events.c.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    with store.reading() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "kind": row.kind,
            "old": row.old,
            "new": row.new,
            "reason": _reason(row, locale),
            "actor": row.actor,
            "at": _iso(row.created_at),
        }
        for row in rows
    ]


def _reason(row, locale: str) -> str:
    message = Message.from_json(row.reason_message)
    return row.reason if message is None else message.text(locale)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _iso(moment) -> str | None:
    return None if moment is None else as_utc(moment).isoformat(timespec="seconds")
