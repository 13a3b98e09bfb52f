"""Dynamic overlap: ask more annotators only while an item's answers are not conclusive.

In project.yaml, ``overlap: 3`` is a fixed overlap (every item gets 3 answers), and

    overlap: {min: 2, max: 5, confidence: 0.7}      # optional: question: <name>

asks `min` annotators first; whenever an item has `min` or more answers, its consensus on one
question (the first `label` question, or `question`: a label, rating or preference question)
is scored, and the item is *settled* (no more answers) once the leading answer's posterior
reaches `confidence`, or once it has `max` answers. Until then it wants one more answer.

The rule (the crowd platforms' one, see notes/quality-and-formats.md): each voter has an
accuracy q = (K + correct) / (2K + total) with K = 0.5, counted over their last `WINDOW`
honeypot scores (gold_scores) and their last `WINDOW` agreements with the strict majority of
items settled before (majority_agreements). With a uniform prior over the question's L
answers, a voter names the true answer with probability q and each other answer with
(1 - q) / (L - 1); the posterior of an answer is the normalized product over the voters.
Answers that leave the question empty do not vote. A newcomer has q = 0.5: with two answers
to pick from their votes say nothing yet, so early items go to `max`, which teaches q.

Answers a reviewer rejected do not vote; a rejection can send a settled item back for one
more answer (`reconsider`).

Storage: a settled item's `order_key` becomes `SETTLED`, beyond any serving order. The
next-item seek adds ``order_key < SETTLED`` and so stays one range seek on the queue index
(answer_count, order_key, id): settled items are never walked over. Settling happens in the
submit transaction, under the item's row lock (the answer count update took it).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from labelkit.errors import ProjectError
from labelkit.store.tables import (
    annotations,
    gold_scores,
    items,
    majority_agreements,
    newest_verdict,
    resolutions,
)

SETTLED = 2**62  # items.order_key of a settled item: above every serving order's keys
K = 0.5  # the accuracy's prior weight: a newcomer's q is K / 2K = 0.5
WINDOW = 100  # recent honeypot scores and recent agreements that make an annotator's q
DEFAULT_CONFIDENCE = 0.7
_KEYS = ("min", "max", "confidence", "question")
_VOTING_TYPES = ("label", "rating", "preference")


@dataclass(frozen=True)
class DynamicOverlap:
    """A project's dynamic overlap, resolved against its schema."""

    min: int
    max: int
    confidence: float
    question: str  # the question whose consensus decides
    labels: tuple  # its possible answers (L: errors are spread over the L - 1 others)

    def need(self, count: int) -> int:
        """Answers an open item with `count` answers wants in all: `min`, then one more."""
        return self.min if count < self.min else min(count + 1, self.max)


def parse(value: Any, schema) -> int | DynamicOverlap:
    """The overlap setting as an int (fixed) or a DynamicOverlap; a clear error otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ProjectError(f"overlap must be a whole number of at least 1, got {value!r}")
        return value
    if not isinstance(value, dict):
        raise ProjectError(
            f"overlap must be a whole number or {{min: N, max: M, confidence: P}}, got {value!r}"
        )
    unknown = sorted(set(value) - set(_KEYS))
    if unknown:
        raise ProjectError(f"overlap: unknown setting {unknown}; known: {', '.join(_KEYS)}")
    low, high = value.get("min"), value.get("max")
    for name, number in (("min", low), ("max", high)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ProjectError(
                f"overlap {name} must be a whole number of at least 1, got {number!r}"
            )
    if high < low:
        raise ProjectError(f"overlap max ({high}) must be at least min ({low})")
    confidence = value.get("confidence", DEFAULT_CONFIDENCE)
    if (
        not isinstance(confidence, int | float)
        or isinstance(confidence, bool)
        or not 0 < confidence < 1
    ):
        raise ProjectError(
            f"overlap confidence must be a number between 0 and 1, got {confidence!r}"
        )
    if low == high:
        return low  # nothing to decide: a fixed overlap
    question = _question(schema, value.get("question"))
    return DynamicOverlap(low, high, float(confidence), question.name, _answers(question))


def _question(schema, name):
    if name is None:
        found = next((q for q in schema.questions if q.type == "label"), None)
        if found is None:
            raise ProjectError(
                "dynamic overlap needs a label question to decide on: the schema has none "
                "(name a label, rating or preference question with overlap question: NAME)"
            )
        return found
    found = next((q for q in schema.questions if q.name == name), None)
    if found is None:
        raise ProjectError(f"overlap question {name!r} is not a question of this schema")
    if found.type not in _VOTING_TYPES:
        raise ProjectError(
            f"overlap question {name!r} is a {found.type} question: dynamic overlap needs "
            f"one of {', '.join(_VOTING_TYPES)}"
        )
    return found


def _answers(question) -> tuple:
    if question.type == "label":
        return tuple(question.labels)
    if question.type == "rating":
        return tuple(range(question.min, question.max + 1, question.step))
    return tuple(question.options) + (("tie",) if question.allow_tie else ())


# ---------------------------------------------------------------------------- the rule


def accuracy(correct: float, total: float) -> float:
    """A voter's accuracy: (K + correct) / (2K + total)."""
    return (K + correct) / (2 * K + total)


def posterior(votes: Sequence[tuple[Any, float]], labels: Sequence) -> dict:
    """P(the true answer is `label` | votes) for each label, from (vote, voter accuracy)
    pairs; a uniform prior; each voter's errors spread evenly over the other labels."""
    others = len(labels) - 1
    if others == 0:
        return {label: 1.0 for label in labels}
    known = set(labels)
    log_p = dict.fromkeys(labels, 0.0)
    for vote, q in votes:
        if vote not in known:
            continue
        right, wrong = math.log(q), math.log((1 - q) / others)
        for label in labels:
            log_p[label] += right if label == vote else wrong
    top = max(log_p.values())  # scale before exp: many voters must not underflow
    weights = {label: math.exp(value - top) for label, value in log_p.items()}
    total = sum(weights.values())
    return {label: weight / total for label, weight in weights.items()}


# ---------------------------------------------------------------------------- in the store

# Under the item's row lock on PostgreSQL (SQLite: the writer lock): one settler at a time.
_ITEM_STATE = (
    sa.select(items.c.answer_count, items.c.gold, items.c.order_key)
    .where(items.c.id == sa.bindparam("item_id"))
    .with_for_update(key_share=True)
)
_ANSWERS = (
    sa.select(
        annotations.c.annotator_id,
        annotations.c.status,
        annotations.c.answer,
        newest_verdict().label("verdict"),
    )
    .where(annotations.c.item_id == sa.bindparam("item_id"))
    .order_by(annotations.c.annotator_id, annotations.c.version)
)
_SETTLE = items.update().where(items.c.id == sa.bindparam("item_id")).values(order_key=SETTLED)


def _accuracy_query():
    """(correct, total) over an annotator's last WINDOW agreements and honeypot scores."""
    me = sa.bindparam("annotator_id")
    agreed = (
        sa.select(sa.case((majority_agreements.c.agreed, 1.0), else_=0.0).label("score"))
        .where(majority_agreements.c.annotator_id == me)
        .order_by(majority_agreements.c.id.desc())
        .limit(WINDOW)
        .subquery()
    )
    scored = (
        sa.select(gold_scores.c.score.label("score"))
        .where(gold_scores.c.annotator_id == me)
        .order_by(gold_scores.c.annotation_id.desc())
        .limit(WINDOW)
        .subquery()
    )
    both = sa.union_all(sa.select(agreed.c.score), sa.select(scored.c.score)).subquery()
    return sa.select(sa.func.coalesce(sa.func.sum(both.c.score), 0.0), sa.func.count())


_ACCURACY = _accuracy_query()


def annotator_accuracy(conn: sa.Connection, annotator_id: int) -> float:
    correct, total = conn.execute(_ACCURACY, {"annotator_id": annotator_id}).one()
    return accuracy(float(correct), total)


def settle(conn: sa.Connection, item_id: int, rule: DynamicOverlap) -> float | None:
    """After an answer to the item: settle it when its consensus is confident or it has
    `max` answers. Returns the leading answer's posterior (None: not scored)."""
    state = conn.execute(_ITEM_STATE, {"item_id": item_id}).first()
    if state is None or state.gold or state.order_key >= SETTLED or state.answer_count < rule.min:
        return None
    votes = _votes(conn, item_id, rule)
    confidence = _confidence(conn, votes, rule)
    if confidence >= rule.confidence or state.answer_count >= rule.max:
        conn.execute(_SETTLE, {"item_id": item_id})
        _remember_agreement(conn, item_id, votes)
    return confidence


def reconsider(conn: sa.Connection, item_id: int, rule: DynamicOverlap, order_key: str) -> bool:
    """A reviewer rejected an answer to the item. If this rule had settled it (a reviewer's
    resolution stays settled), its voters' agreements are noted again without the rejected
    vote; and when its leading answer is no longer confident while it has fewer than `max`
    answers, it goes back in the queue (`order_key`: its serving key, as SQL) for one more.
    Returns whether it went back."""
    state = conn.execute(_ITEM_STATE, {"item_id": item_id}).first()
    if state is None or state.order_key < SETTLED:
        return False
    resolved = conn.execute(
        sa.select(resolutions.c.id).where(resolutions.c.item_id == item_id).limit(1)
    ).first()
    if resolved is not None:
        return False
    # Forgotten first: they taught the voters' accuracy with the rejected vote in the majority.
    conn.execute(majority_agreements.delete().where(majority_agreements.c.item_id == item_id))
    votes = _votes(conn, item_id, rule)
    if state.answer_count >= rule.max or _confidence(conn, votes, rule) >= rule.confidence:
        _remember_agreement(conn, item_id, votes)
        return False
    conn.execute(
        sa.text(f"UPDATE items SET order_key = {order_key} WHERE id = :item_id"),
        {"item_id": item_id},
    )
    return True


def _votes(conn: sa.Connection, item_id: int, rule: DynamicOverlap) -> list[tuple[int, Any]]:
    """(annotator, answer to the deciding question) of each current submitted answer that a
    reviewer has not rejected."""
    latest = {}  # annotator -> their newest version (rows come oldest first)
    for row in conn.execute(_ANSWERS, {"item_id": item_id}):
        latest[row.annotator_id] = row
    votes = [
        (row.annotator_id, row.answer.get(rule.question))
        for row in latest.values()
        if row.status == "submitted" and row.answer and row.verdict != "rejected"
    ]
    return [(annotator, vote) for annotator, vote in votes if vote in set(rule.labels)]


def _confidence(conn: sa.Connection, votes: list, rule: DynamicOverlap) -> float:
    weighted = [(vote, annotator_accuracy(conn, annotator)) for annotator, vote in votes]
    return max(posterior(weighted, rule.labels).values())


def _remember_agreement(conn: sa.Connection, item_id: int, votes: list) -> None:
    """With a strict majority, note for each voter whether they were in it (their q)."""
    if not votes:
        return
    leader, n = Counter(vote for _, vote in votes).most_common(1)[0]
    if 2 * n <= len(votes):
        return  # no strict majority: it teaches nothing about anyone
    conn.execute(
        majority_agreements.insert(),
        [
            {"item_id": item_id, "annotator_id": annotator, "agreed": vote == leader}
            for annotator, vote in votes
        ],
    )


def contested(conn: sa.Connection, rule: DynamicOverlap) -> int:
    """Items with `min` or more answers that still want one more (few: each count is a seek
    on the queue index below SETTLED)."""
    total = 0
    for count in range(rule.min, rule.max):
        total += conn.execute(
            sa.select(sa.func.count())
            .select_from(items)
            .where(
                items.c.answer_count == count,
                items.c.order_key < SETTLED,
                items.c.gold == sa.false(),
            )
        ).scalar_one()
    return total


def settled_early(conn: sa.Connection, maximum: int) -> dict[int, int]:
    """Items settled with fewer than `maximum` answers (complete, though below max), by
    answer count: {count: items}. Settled by dynamic overlap, or resolved by a reviewer
    (review/queue.py: then possibly with no answers at all). One seek per count on the
    queue index (answer_count, order_key, id)."""
    found = {}
    for count in range(maximum):
        n = conn.execute(
            sa.select(sa.func.count())
            .select_from(items)
            .where(items.c.answer_count == count, items.c.order_key >= SETTLED)
        ).scalar_one()
        if n:
            found[count] = n
    return found


def unsettle(conn: sa.Connection, order: str, seed: int = 0) -> int:
    """Put settled items back in the queue with their serving key (the project left dynamic
    overlap: a fixed overlap counts answers only). Items a reviewer resolved stay settled.
    Returns how many."""
    from labelkit.team.assignment import order_key_sql  # assignment imports this module

    result = conn.execute(
        sa.text(
            f"UPDATE items SET order_key = {order_key_sql(order, seed)} "
            f"WHERE order_key >= {SETTLED} "
            "AND NOT EXISTS (SELECT 1 FROM resolutions WHERE resolutions.item_id = items.id)"
        )
    )
    return result.rowcount
