"""Who labels which item next: overlap, levels, languages, order, and leases.

Rules, for one annotator:
- an item wants `overlap` submitted answers from distinct annotators; nobody gets an item they
  already touched (a skip or an escalation counts);
- gold items are not in this queue (honeypots and exams have their own rules);
- an item with a language goes only to annotators who have it (no languages = any); an item
  above the annotator's level is not shown (an admin sees every level); a suspended annotator
  gets nothing;
- wellbeing: never an item with a content warning the annotator opted out of, and no sensitive
  item once they reached an exposure limit (labelkit.wellbeing);
- dynamic overlap (team/overlap.py): an item wants `min` answers, then one more at a time
  while its consensus is not confident, up to `max`; a settled item wants no more;
- items closer to complete come first, so started items are finished before new ones; within
  that, the project's order: sequential (import order), random (a seeded hash of the id) or
  priority (the `priority` column, higher first). The order lives in `items.order_key`, so the
  next item is an index seek on (answer_count, order_key, id) in every mode;
- handing an item out leases it for `lease_seconds`; an item is never handed to more annotators
  than its open slots (overlap - answers - others' live leases); an expired lease frees its
  slot. An annotator holds one lease: asking again returns the same item while it lives.

Concurrency: on SQLite every writer runs under BEGIN IMMEDIATE, so the check-then-lease below is
serial. On PostgreSQL the candidate row is locked with FOR NO KEY UPDATE SKIP LOCKED (a rival
takes the next item instead of waiting) and its slots are counted again under the lock, in a
statement with a fresh snapshot: anyone else changing them has to lock the same row first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from labelkit.errors import ProjectError, StoreError
from labelkit.store.tables import annotations, annotators, imports, items, leases
from labelkit.team.overlap import SETTLED, DynamicOverlap
from labelkit.wellbeing import opted_out, warning_pattern

ORDERS = ("sequential", "random", "priority")
DEFAULT_LEASE_SECONDS = 600.0
_MASK = 4294967295  # 2**32 - 1
_MIX = 73244475  # 0x45d9f3b, a well-mixing odd multiplier (< 2**27: no 64-bit overflow)


@dataclass(frozen=True)
class Rules:
    """A project's assignment settings. `overlap`: the most answers an item gets (the fixed
    overlap, or the dynamic overlap's max)."""

    overlap: int = 1
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    dynamic: DynamicOverlap | None = None

    def __post_init__(self):
        check_settings(overlap=self.overlap, lease_seconds=self.lease_seconds)

    @classmethod
    def of(cls, overlap: int | DynamicOverlap, lease_seconds: float) -> Rules:
        if isinstance(overlap, DynamicOverlap):
            return cls(overlap.max, lease_seconds, overlap)
        return cls(overlap, lease_seconds)

    def need(self, count: int) -> int:
        """Answers an open item with `count` answers wants in all."""
        return self.overlap if self.dynamic is None else self.dynamic.need(count)


def check_settings(
    *, overlap=None, order=None, seed=None, lease_seconds=None, priority=None
) -> None:
    """Refuse settings that make no sense, with a message that says which and why."""
    if overlap is not None and (not isinstance(overlap, int) or overlap < 1):
        raise ProjectError(f"overlap must be a whole number of at least 1, got {overlap!r}")
    if order is not None and order not in ORDERS:
        raise ProjectError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")
    if seed is not None and (not isinstance(seed, int) or not 0 <= seed <= _MASK):
        raise ProjectError(f"seed must be a whole number from 0 to {_MASK}, got {seed!r}")
    if lease_seconds is not None and (
        not isinstance(lease_seconds, int | float) or lease_seconds <= 0
    ):
        raise ProjectError(f"lease_seconds must be a positive number, got {lease_seconds!r}")


# ---------------------------------------------------------------------------- order


def _xor(a: str, b: str) -> str:
    # SQLite has no XOR operator; (a | b) - (a & b) is XOR on both databases.
    return f"(({a}) | ({b})) - (({a}) & ({b}))"


def order_key_sql(order: str, seed: int = 0) -> str:
    """The SQL that computes items.order_key for `order` (ascending = served first)."""
    check_settings(order=order, seed=seed)
    if order == "sequential":
        return "0"  # ties: the id, i.e. import order
    if order == "priority":
        return "-priority"
    # A 32-bit integer hash of (id, seed): multiply, xor-shift, multiply (all within 64 bits).
    h = f"((id * 2654435761 + {int(seed)}) & {_MASK})"
    h = f"(({h} * {_MIX}) & {_MASK})"
    h = f"({_xor(h, f'({h} >> 16)')})"
    return f"(({h} * {_MIX}) & {_MASK})"


def rank_items(
    conn: sa.Connection, order: str, seed: int = 0, first_id: int = 0, last_id: int | None = None
) -> int:
    """Write the order key of items with id in [first_id, last_id]; return how many."""
    where = "id >= :first" + ("" if last_id is None else " AND id <= :last")
    where += f" AND order_key < {SETTLED}"  # settled items stay out of the queue
    result = conn.execute(
        sa.text(f"UPDATE items SET order_key = {order_key_sql(order, seed)} WHERE {where}"),
        {"first": first_id, "last": last_id},
    )
    return result.rowcount


# ---------------------------------------------------------------------------- leases


def ready():
    """Items whose import finished (a running or failed import's items are not served)."""
    unfinished = sa.select(imports.c.id).where(imports.c.status != "done")
    return sa.or_(items.c.import_id.is_(None), items.c.import_id.not_in(unfinished))


def _touched_by(annotator_id):
    return (
        sa.select(annotations.c.id)
        .where(annotations.c.item_id == items.c.id, annotations.c.annotator_id == annotator_id)
        .exists()
    )


def _others_live_leases(annotator_id, now):
    return (
        sa.select(sa.func.count())
        .where(
            leases.c.item_id == items.c.id,
            leases.c.annotator_id != annotator_id,
            leases.c.expires_at > now,
        )
        .scalar_subquery()
    )


# Statements are built once with bound parameters: building them per call cost more than running
# them. Parameters: me (annotator id), now, count, slots (= overlap - count), level, languages.
_ME, _NOW = sa.bindparam("me"), sa.bindparam("now")

_WHO = sa.select(
    annotators.c.id,
    annotators.c.languages,
    annotators.c.level,
    annotators.c.status,
    annotators.c.opt_outs,
    annotators.c.role,
).where(annotators.c.id == _ME)
ANY_LEVEL = 2**31 - 1


def level_reach(who) -> int:
    """The highest item level this annotator is served: their level; an admin (the lead, or the
    researcher alone in a notebook) checks items of every level."""
    return ANY_LEVEL if who.role == "admin" else who.level


def _held(columns):
    """A live lease of mine: the item I was shown and have not answered yet (unless it was
    settled meanwhile: enough answers, or a reviewer resolved it)."""
    return (
        sa.select(*columns)
        .join(leases, leases.c.item_id == items.c.id)
        .where(
            leases.c.annotator_id == _ME,
            leases.c.expires_at > _NOW,
            items.c.order_key < SETTLED,
            ~_touched_by(_ME),
        )
        .order_by(leases.c.expires_at.desc())
        .limit(1)
    )


def _candidate(
    columns,
    any_language: bool,
    lock: bool,
    passed_over: list[int] = (),
    opt_outs: int = 0,
    no_sensitive: bool = False,
):
    """The first item with `count` answers that may go to me now, in the project's order.
    `opt_outs`: how many content-warning categories I opted out of (bound as opt_out_0...);
    `no_sensitive`: I reached an exposure limit (labelkit.wellbeing)."""
    query = sa.select(*columns).where(
        items.c.answer_count == sa.bindparam("count"),
        items.c.gold == sa.false(),  # gold is served by its own rules (labelkit.gold)
        items.c.order_key < SETTLED,  # dynamic overlap settled it: a range, still one seek
        ~_touched_by(_ME),
        _others_live_leases(_ME, _NOW) < sa.bindparam("slots"),
        items.c.level <= sa.bindparam("level"),
        ready(),
    )
    if not any_language:
        languages = sa.bindparam("languages", expanding=True)
        query = query.where(sa.or_(items.c.language.is_(None), items.c.language.in_(languages)))
    if passed_over:
        query = query.where(items.c.id.not_in(passed_over))
    for i in range(opt_outs):  # wellbeing: never an item with a category I opted out of
        pattern = sa.bindparam(f"opt_out_{i}")
        query = query.where(sa.or_(items.c.warnings.is_(None), ~opted_out(pattern)))
    if no_sensitive:
        query = query.where(items.c.sensitive == sa.false())
    query = query.order_by(items.c.order_key, items.c.id).limit(1)
    if lock:
        query = query.with_for_update(skip_locked=True, key_share=True, of=items)
    return query


_STILL_OPEN = sa.select(
    items.c.answer_count, items.c.order_key, _others_live_leases(_ME, _NOW).label("leased")
).where(items.c.id == sa.bindparam("item_id"), ~_touched_by(_ME))
_DROP_MINE = leases.delete().where(leases.c.annotator_id == _ME)
_MY_LEASE = sa.and_(leases.c.item_id == sa.bindparam("leased"), leases.c.annotator_id == _ME)
_RELEASE = leases.delete().where(_MY_LEASE)
_RENEW = leases.update().where(_MY_LEASE).values(expires_at=sa.bindparam("until"))
_LEASE = leases.insert().values(expires_at=sa.bindparam("until"))
_statements: dict = {}


def _built(key, make):
    found = _statements.get(key)
    if found is None:
        found = _statements[key] = make()
    return found


def acquire(
    conn: sa.Connection,
    annotator_id: int,
    rules: Rules,
    now: float,
    columns: Sequence,
    no_sensitive: bool = False,
) -> tuple[sa.Row, float] | None:
    """Lease the next item for this annotator: (the item's `columns`, lease end) or None.
    `no_sensitive`: they reached an exposure limit (labelkit.wellbeing): no sensitive item."""
    who = conn.execute(_WHO, {"me": annotator_id}).first()
    if who is None:
        raise StoreError(f"unknown annotator id {annotator_id}")
    if who.status != "active":
        return None
    until = now + rules.lease_seconds
    columns = tuple(columns)
    me = {"me": annotator_id, "now": now}

    held = conn.execute(_built(("held", columns), lambda: _held(columns)), me).first()
    if held is not None:
        _renew(conn, held.id, annotator_id, until)
        return held, until

    conn.execute(_DROP_MINE, me)
    postgres = conn.dialect.name == "postgresql"
    any_language = who.languages is None  # None: works in any language
    params = {**me, "level": level_reach(who)}
    if not any_language:
        params["languages"] = [str(code).strip().lower() for code in who.languages]
    opt_outs = list(who.opt_outs or ())
    params |= {f"opt_out_{i}": warning_pattern(c) for i, c in enumerate(opt_outs)}
    shape = (len(opt_outs), no_sensitive)
    query = _built(
        ("candidate", columns, any_language, postgres, shape),
        lambda: _candidate(columns, any_language, postgres, (), *shape),
    )
    passed_over: list[int] = []  # lost to a rival between finding and locking (PostgreSQL)
    for count in range(rules.overlap - 1, -1, -1):
        params |= {"count": count, "slots": rules.need(count) - count}
        while True:
            row = conn.execute(query, params).first()
            if row is None:
                break
            if postgres and not _still_open(conn, row.id, annotator_id, rules, now):
                passed_over.append(row.id)  # rare: a one-off statement is fine
                query = _candidate(columns, any_language, postgres, passed_over, *shape)
                continue
            conn.execute(_LEASE, {"item_id": row.id, "annotator_id": annotator_id, "until": until})
            return row, until
    return None


def _still_open(conn: sa.Connection, item_id: int, me: int, rules: Rules, now: float) -> bool:
    """Recount the item's slots under its row lock (this statement sees rivals' commits)."""
    row = conn.execute(_STILL_OPEN, {"item_id": item_id, "me": me, "now": now}).first()
    if row is None or row.order_key >= SETTLED or row.answer_count >= rules.overlap:
        return False
    return row.answer_count + row.leased < rules.need(row.answer_count)


def _renew(conn: sa.Connection, item_id: int, annotator_id: int, until: float) -> int:
    return conn.execute(_RENEW, {"leased": item_id, "me": annotator_id, "until": until}).rowcount


def renew(conn: sa.Connection, item_id: int, annotator_id: int, now: float, until: float) -> bool:
    """Push back the end of this annotator's live lease on the item; False when they hold
    none (a lease that ran out is not revived: its slot may be someone else's now)."""
    result = conn.execute(
        leases.update()
        .where(
            leases.c.item_id == item_id,
            leases.c.annotator_id == annotator_id,
            leases.c.expires_at > now,
        )
        .values(expires_at=until)
    )
    return result.rowcount > 0


def release(conn: sa.Connection, item_id: int, annotator_id: int) -> None:
    """The annotator answered, skipped or escalated the item: its slot is theirs no more."""
    conn.execute(_RELEASE, {"leased": item_id, "me": annotator_id})
