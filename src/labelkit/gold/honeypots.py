"""Gold items, and honeypots: gold items (gold.exam NULL) mixed, hidden, into normal work.

When is one served: each time an annotator answers (or skips...) a normal item for the first
time, a seeded hash of (seed, annotator, item) draws whether the next item is a honeypot, with
probability `quality.honeypot_rate`. Deterministic per annotator (the same items, the same
draws: tests are not flaky) and free of any count: no query runs unless a honeypot is due.
The honeypot is then leased to them in the same transaction, so the next item they get (from
`next_item` or `submit_and_next`) is that honeypot, like any leased item.

Which one: a honeypot at or below their level, in one of their languages, without a content
warning they opted out of, that they never touched (any status), least answered first, then
in a per-annotator order. Gold items are few, so the query reads the gold table, never the
whole item table. Nothing about the item tells the browser it is gold (ui/render.py).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.gold.settings import MAX_EXAM_NAME
from labelkit.store.tables import annotations, annotators, gold, items, leases
from labelkit.team.assignment import level_reach, ready
from labelkit.wellbeing import opted_out, warning_pattern

_MASK = 4294967295


def due(rate: float, seed: int, annotator_id: int, item_id: int) -> bool:
    """Whether the item after `item_id` is a honeypot for this annotator (see the module)."""
    if rate <= 0:
        return False
    digest = hashlib.blake2b(f"{seed}:{annotator_id}:{item_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def choose(conn: sa.Connection, annotator_id: int, *, no_sensitive: bool = False) -> int | None:
    """The honeypot to serve this annotator next (an item id), or None."""
    who = conn.execute(
        sa.select(
            annotators.c.level, annotators.c.role, annotators.c.languages, annotators.c.opt_outs
        ).where(annotators.c.id == annotator_id)
    ).first()
    if who is None:
        return None
    touched = (
        sa.select(annotations.c.id)
        .where(annotations.c.item_id == items.c.id, annotations.c.annotator_id == annotator_id)
        .exists()
    )
    salt = (annotator_id * 2654435761) & _MASK
    spread = (sa.cast(items.c.id, sa.BigInteger) * 40503 + salt) % 65521  # per annotator
    # `id IN (the gold table's honeypots)`: the database reads the small gold table and looks
    # each item up by primary key (a join let SQLite scan every item instead).
    honeypot_ids = sa.select(gold.c.item_id).where(gold.c.exam.is_(None))
    query = (
        sa.select(items.c.id)
        .where(items.c.id.in_(honeypot_ids), items.c.level <= level_reach(who), ~touched, ready())
        .order_by(items.c.answer_count, spread, items.c.id)
        .limit(1)
    )
    if who.languages is not None:
        languages = [str(code).strip().lower() for code in who.languages]
        query = query.where(sa.or_(items.c.language.is_(None), items.c.language.in_(languages)))
    for category in who.opt_outs or ():
        pattern = sa.literal(warning_pattern(category))
        query = query.where(sa.or_(items.c.warnings.is_(None), ~opted_out(pattern)))
    if no_sensitive:
        query = query.where(items.c.sensitive == sa.false())
    return conn.execute(query).scalar()


def holds_lease(conn: sa.Connection, annotator_id: int, now: float) -> bool:
    """Whether the annotator already holds a live lease (then no honeypot is slipped in)."""
    query = sa.select(leases.c.item_id).where(
        leases.c.annotator_id == annotator_id, leases.c.expires_at > now
    )
    return conn.execute(query.limit(1)).first() is not None


def lease(conn: sa.Connection, item_id: int, annotator_id: int, until: float) -> None:
    """Lease the honeypot to them (call after `holds_lease` said no: their leases are all
    expired, and are dropped as `assignment.acquire` would)."""
    conn.execute(leases.delete().where(leases.c.annotator_id == annotator_id))
    conn.execute(
        leases.insert().values(item_id=item_id, annotator_id=annotator_id, expires_at=until)
    )


def add_gold(project, item, answer: dict, explanation: str = "", exam: str | None = None) -> None:
    """Make `item` gold (see Project.add_gold); replaces an earlier gold answer."""
    answer = project.schema.validate_answer(answer, item.data)
    if exam is not None:
        if not isinstance(exam, str) or not exam.strip() or len(exam.strip()) > MAX_EXAM_NAME:
            raise LabelkitError(f"an exam name has 1 to {MAX_EXAM_NAME} characters, got {exam!r}")
        exam = exam.strip()
    if not isinstance(explanation, str):
        raise LabelkitError(f"the explanation must be text, got {type(explanation).__name__}")
    with project.store.writing() as conn:
        conn.execute(gold.delete().where(gold.c.item_id == item.id))
        conn.execute(
            gold.insert().values(
                item_id=item.id, answer=answer, explanation=explanation.strip(), exam=exam
            )
        )
        conn.execute(items.update().where(items.c.id == item.id).values(gold=True))
