"""Review and escalation: reviewers' verdicts on answers, and final answers to escalated items.

The review queue lists current submitted answers that have no verdict yet, in one of three
modes:

- ``sampled``: a seeded random sample (the same seed gives the same order);
- ``low_agreement``: the answers of the items whose annotators agree least come first (an
  item's agreement as labelkit.quality.item_agreement defines it, the dashboard's rule: 1.0
  when all agree). Items with a single answer have nothing to disagree with and come last;
- ``annotator``: all of one annotator's unreviewed answers, oldest first.

A verdict (accepted / rejected, with a comment) is appended to `reviews`; the newest counts.
Rejected answers drop out of consensus, agreement, exports and pay.

The escalation queue lists the items whose annotators escalated them (their current version
is an escalation), with the reasons, unresolved first. `resolve` writes the item's final
answer to `resolutions` (validated against the schema; the newest counts): it becomes the
item's consensus (confidence 1.0) in `project.consensus()` and the consensus export.

This module trusts its caller for the reviewer's identity and role (a notebook user owns the
project's files); the served review app checks both in the kernel (ui/review_session.py).
Gold items are not reviewed: their answers are scored against the gold answer.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.i18n import Message
from labelkit.quality.item_agreement import item_agreement
from labelkit.store.store import is_latest_version, latest_versions
from labelkit.store.tables import (
    REVIEW_VERDICTS,
    annotations,
    annotators,
    items,
    newest_verdict,
    resolutions,
    reviews,
)
from labelkit.team.assignment import order_key_sql
from labelkit.team.overlap import SETTLED, DynamicOverlap, reconsider

if TYPE_CHECKING:
    from labelkit.project import Project
    from labelkit.store import Item

log = logging.getLogger("labelkit.review")

MODES = ("sampled", "low_agreement", "annotator")
# What `verdict` accepts -> what is stored.
VERDICTS = {
    "accept": "accepted",
    "accepted": "accepted",
    "reject": "rejected",
    "rejected": "rejected",
}
MAX_COMMENT_CHARS = 2_000


class ReviewError(LabelkitError):
    """A review request that cannot be done: own answer, unknown answer, missing comment...
    Raised with a Message (review.error.*), so the review app says it in the reviewer's
    language; str() is English."""


@dataclass(frozen=True)
class Pending:
    """An answer waiting for a verdict."""

    annotation_id: int
    item_id: int
    annotator: str
    agreement: float | None = None  # the item's agreement (low_agreement mode), else None


@dataclass(frozen=True)
class Escalation:
    """An escalated item: who escalated it and why, and its final answer once resolved."""

    item_id: int
    item: str  # the item's key
    reasons: list[dict]  # {"annotator", "reason", "created_at"}, oldest first
    resolution: dict | None = None  # {"answer", "reviewer", "comment", "created_at"}

    @property
    def resolved(self) -> bool:
        return self.resolution is not None


@dataclass(frozen=True)
class Verdict:
    id: int
    annotation_id: int
    verdict: str
    reviewer: str
    comment: str | None
    rules: dict | None = field(default=None, compare=False)  # what the review rules did
    # The verdict is committed before the rules run: if they fail, it stays, and this says why.
    rules_error: str | None = field(default=None, compare=False)


class Reviews:
    """Review and escalation for one project (`project.review`)."""

    def __init__(self, project: Project):
        self.project = project
        self.store = project.store

    # ------------------------------------------------------------------ the review queue

    def queue(
        self,
        mode: str = "sampled",
        *,
        reviewer: str | None = None,
        annotator: str | None = None,
        seed: int = 0,
        limit: int | None = None,
    ) -> list[Pending]:
        """The answers to review, in order (see the module doc for the modes). `reviewer`'s
        own answers are left out; `annotator` is required by (and only for) mode annotator."""
        if mode not in MODES:
            raise ReviewError(
                Message.of("review.error.unknown_mode", mode=repr(mode), modes=", ".join(MODES))
            )
        if (mode == "annotator") != (annotator is not None):
            raise ReviewError(Message.of("review.error.annotator_mode"))
        query = _unreviewed_query()
        if reviewer is not None:
            query = query.where(annotators.c.name != reviewer)
        if annotator is not None:
            self._known_annotator(annotator)
            query = query.where(annotators.c.name == annotator)
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(annotations.c.id)).all()
        found = [Pending(row.id, row.item_id, row.name) for row in rows]
        if mode == "sampled":
            found = random.Random(seed).sample(found, len(found))
        elif mode == "low_agreement":
            agreement = self.item_agreement({p.item_id for p in found})
            found = [
                Pending(p.annotation_id, p.item_id, p.annotator, agreement.get(p.item_id))
                for p in found
            ]
            found.sort(key=lambda p: (p.agreement is None, p.agreement or 0, p.item_id))
        return found if limit is None else found[:limit]

    def item_agreement(self, item_ids: set[int] | None = None) -> dict[int, float | None]:
        """{item_id: agreement} over the current submitted, not rejected answers, by the same
        rule as the dashboard's (labelkit.quality.item_agreement); None when no question of
        the item has two answers."""
        import pandas as pd

        rows = []
        with self.store.reading() as conn:
            for row in conn.execute(_current_answers_query()):
                if row.verdict != "rejected" and (item_ids is None or row.item_id in item_ids):
                    rows.append((row.item_id, row.name, row.answer))
        answers = pd.DataFrame(rows, columns=["item_id", "annotator", "answer"])
        found = item_agreement(answers, self.project.schema)
        agreement = dict(zip(found["item_id"], found["agreement"], strict=True))
        return {item_id: agreement.get(item_id) for item_id in set(answers["item_id"])}

    def answer(self, annotation_id: int) -> dict:
        """One annotation: item_id, item (key), annotator, status, version, answer, comment,
        current (the annotator's latest version), verdict (newest, or None)."""
        latest = latest_versions()
        query = (
            sa.select(
                annotations.c.id,
                annotations.c.item_id,
                items.c.key.label("item"),
                annotators.c.name.label("annotator"),
                annotations.c.annotator_id,
                annotations.c.status,
                annotations.c.version,
                annotations.c.answer,
                annotations.c.comment,
                (latest.c.version.is_not(None)).label("current"),
                newest_verdict().label("verdict"),
            )
            .join(items, items.c.id == annotations.c.item_id)
            .join(annotators, annotators.c.id == annotations.c.annotator_id)
            .outerjoin(latest, is_latest_version(latest))
            .where(annotations.c.id == annotation_id)
        )
        with self.store.reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise ReviewError(Message.of("review.error.unknown_answer", id=annotation_id))
        return dict(row._mapping)

    def item_answers(self, item_id: int) -> list[dict]:
        """Every annotator's current version of the item (any status), oldest annotator
        first: annotation_id, annotator, status, answer, comment, verdict."""
        query = (
            _current_answers_query(any_status=True)
            .add_columns(annotations.c.comment)
            .where(annotations.c.item_id == item_id)
        )
        with self.store.reading() as conn:
            rows = conn.execute(query.order_by(annotations.c.id)).all()
        return [
            {
                "annotation_id": row.id,
                "annotator": row.name,
                "status": row.status,
                "answer": row.answer,
                "comment": row.comment,
                "verdict": row.verdict,
            }
            for row in rows
        ]

    # ------------------------------------------------------------------ verdicts

    def verdict(
        self, annotation_id: int, verdict: str, *, reviewer: str, comment: str | None = None
    ) -> Verdict:
        """Record `reviewer`'s verdict ("accepted"/"accept" or "rejected"/"reject") on one
        answer; committed on return. A rejection must say why (`comment`). Nobody reviews
        their own answers; only submitted answers are reviewed."""
        verdict = VERDICTS.get(verdict)  # type: ignore[assignment]
        if verdict not in REVIEW_VERDICTS:
            raise ReviewError(Message.of("review.error.verdict"))
        comment = _comment(comment)
        if verdict == "rejected" and not comment:
            raise ReviewError(Message.of("review.error.say_why"))
        target = self.answer(annotation_id)
        if target["annotator"] == reviewer:
            raise ReviewError(Message.of("review.error.own_answer"))
        if target["status"] != "submitted":
            status = Message.of(f"review.status.{target['status']}")
            raise ReviewError(Message.of("review.error.not_submitted", status=status))
        reviewer_id = self.store.annotator_id(reviewer)
        rule = self.project.overlap_rule
        with self.store.writing() as conn:
            review_id = conn.execute(
                reviews.insert()
                .values(
                    annotation_id=annotation_id,
                    reviewer_id=reviewer_id,
                    verdict=verdict,
                    comment=comment,
                )
                .returning(reviews.c.id)
            ).scalar_one()
            if verdict == "rejected" and isinstance(rule, DynamicOverlap):
                # Its vote may have settled the item: without it, does it want another answer?
                order = order_key_sql(self.project.order, self.project.settings.get("seed") or 0)
                reconsider(conn, target["item_id"], rule, order)
        applied, error = None, None
        try:
            applied = after_verdict(self.project, target["annotator_id"])
        except Exception as exc:  # logged and returned: the verdict itself is saved
            log.exception("the review rules failed after verdict %s", review_id)
            error = f"{type(exc).__name__}: {exc}"
        return Verdict(review_id, annotation_id, verdict, reviewer, comment, applied, error)

    def accept(self, annotation_id: int, *, reviewer: str, comment: str | None = None) -> Verdict:
        return self.verdict(annotation_id, "accepted", reviewer=reviewer, comment=comment)

    def reject(self, annotation_id: int, *, reviewer: str, comment: str) -> Verdict:
        return self.verdict(annotation_id, "rejected", reviewer=reviewer, comment=comment)

    # ------------------------------------------------------------------ escalations

    def escalations(self) -> list[Escalation]:
        """Items whose annotators escalated them (current version), unresolved first, then
        by the first escalation."""
        reasons: dict[int, list[dict]] = defaultdict(list)
        keys: dict[int, str] = {}
        latest = latest_versions()
        query = (
            sa.select(
                annotations.c.item_id,
                items.c.key,
                annotators.c.name,
                annotations.c.comment,
                annotations.c.created_at,
            )
            .join(latest, is_latest_version(latest))
            .join(items, items.c.id == annotations.c.item_id)
            .join(annotators, annotators.c.id == annotations.c.annotator_id)
            .where(annotations.c.status == "escalated")
            .order_by(annotations.c.id)
        )
        with self.store.reading() as conn:
            for row in conn.execute(query):
                keys[row.item_id] = row.key
                reasons[row.item_id].append(
                    {
                        "annotator": row.name,
                        "reason": row.comment or "",
                        "created_at": row.created_at,
                    }
                )
        resolved = self._resolutions(set(keys))
        found = [
            Escalation(item_id, keys[item_id], reasons[item_id], resolved.get(item_id))
            for item_id in keys
        ]
        return sorted(found, key=lambda e: e.resolved)  # stable: first escalated first

    def resolve(
        self,
        item: int | str | Item,
        answer: dict,
        *,
        reviewer: str,
        comment: str | None = None,
    ) -> int:
        """Give `item` its final answer (validated against the schema); returns the
        resolution's id. It is the item's consensus from now on (the newest counts), and it
        is settled: no annotator is handed it again, and it counts as complete."""
        item = self.project.item(item)
        answer = self.project.schema.validate_answer(answer, item.data)
        reviewer_id = self.store.annotator_id(reviewer)
        with self.store.writing() as conn:
            resolution_id = conn.execute(
                resolutions.insert()
                .values(
                    item_id=item.id,
                    reviewer_id=reviewer_id,
                    answer=answer,
                    comment=_comment(comment),
                )
                .returning(resolutions.c.id)
            ).scalar_one()
            # Settled as dynamic overlap settles (team/overlap.py): the next-item seek skips
            # it at no cost. Gold items keep their place: they are served as honeypots.
            conn.execute(
                items.update()
                .where(items.c.id == item.id, items.c.gold == sa.false())
                .values(order_key=SETTLED)
            )
            return resolution_id

    def resolutions(self) -> dict[int, dict]:
        """{item_id: newest resolution} ({"item", "answer", "reviewer", "comment",
        "created_at"})."""
        return self._resolutions(None)

    def _resolutions(self, item_ids: set[int] | None) -> dict[int, dict]:
        return resolved_items(self.store, item_ids)

    def _known_annotator(self, name: str) -> None:
        with self.store.reading() as conn:
            found = conn.execute(sa.select(annotators.c.id).where(annotators.c.name == name))
            if found.first() is None:
                raise ReviewError(Message.of("review.error.unknown_annotator", name=repr(name)))


# ---------------------------------------------------------------------------- helpers


def resolved_items(store, item_ids: set[int] | None = None) -> dict[int, dict]:
    """{item_id: its newest resolution} ({"item" (key), "answer", "reviewer", "comment",
    "created_at"}), for `item_ids` or every resolved item."""
    query = (
        sa.select(
            resolutions.c.item_id,
            items.c.key,
            resolutions.c.answer,
            annotators.c.name,
            resolutions.c.comment,
            resolutions.c.created_at,
        )
        .join(items, items.c.id == resolutions.c.item_id)
        .join(annotators, annotators.c.id == resolutions.c.reviewer_id)
        .order_by(resolutions.c.id)
    )
    if item_ids is not None:
        if not item_ids:
            return {}
        query = query.where(resolutions.c.item_id.in_(sorted(item_ids)))
    found: dict[int, dict] = {}
    with store.reading() as conn:
        for row in conn.execute(query):  # oldest first: the newest one stays
            found[row.item_id] = {
                "item": row.key,
                "answer": row.answer,
                "reviewer": row.name,
                "comment": row.comment,
                "created_at": row.created_at,
            }
    return found


def after_verdict(project: Project, annotator_id: int):
    """Let the quality rules react to a verdict (e.g. suspend after too many rejections)."""
    from labelkit.gold.policy import apply_review_rules

    return apply_review_rules(project, annotator_id)


def _comment(comment) -> str | None:
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ReviewError(Message.of("review.error.comment_text"))
    return comment.strip()[:MAX_COMMENT_CHARS] or None


def _unreviewed_query():
    """Current submitted answers to non-gold items that have no verdict yet."""
    latest = latest_versions()
    reviewed = sa.exists().where(reviews.c.annotation_id == annotations.c.id)
    return (
        sa.select(annotations.c.id, annotations.c.item_id, annotators.c.name)
        .join(latest, is_latest_version(latest))
        .join(items, items.c.id == annotations.c.item_id)
        .join(annotators, annotators.c.id == annotations.c.annotator_id)
        .where(annotations.c.status == "submitted", items.c.gold == sa.false(), ~reviewed)
    )


def _current_answers_query(any_status: bool = False):
    latest = latest_versions()
    query = (
        sa.select(
            annotations.c.id,
            annotations.c.item_id,
            annotators.c.name,
            annotations.c.status,
            annotations.c.answer,
            newest_verdict().label("verdict"),
        )
        .join(latest, is_latest_version(latest))
        .join(annotators, annotators.c.id == annotations.c.annotator_id)
    )
    return query if any_status else query.where(annotations.c.status == "submitted")
