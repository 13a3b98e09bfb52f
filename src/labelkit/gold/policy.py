"""The rules that move an annotator: rolling gold accuracy, fast answers, rejected work.

Rolling gold accuracy: the mean score of their last `window` honeypot answers given since their
standing last changed (a level or status change, or a warning: see history.STANDING_KINDS), so
a promoted, resumed or re-qualified annotator starts a fresh window. Once `min_count` exist:
- under `suspend_below`: suspended;
- under `retry_below`: status "retry" when an exam exists for their level (they may open the
  app and take it, and get no work until they pass), else a recorded warning;
- at or over `promote_at`, with at least `promote_after` answers, when items exist above their
  level: the next level, or, when that level has an exam, the exam is offered (once).
Fast answers: an answer faster than `fast.ratio` x the honest median duration (the project's
recent unflagged answers) gets an answer_flags row "fast"; `fast.suspend_after` of them within
their last `fast.window` answers suspends them.
Rejected work: once `rejections.min_reviewed` of their answers are reviewed since they were last
resumed, more than `rejections.max_rate` rejected suspends them (`apply_review_rules`).
Every change writes an annotator_events row whose reason says why, in numbers: a Message
(`history.reason.*` keys), so each reader sees it in their language.

Who is moved: annotator accounts (role "annotator" with an access link: the team). The local
user of a notebook, names without an account and reviewers or admins get gold scores and
flags, but the rules never change their level or status (nobody suspends themselves).
"""

from __future__ import annotations

import statistics
import time

import sqlalchemy as sa

from labelkit.gold import history
from labelkit.gold.settings import ExamSettings, FastSettings, QualitySettings, quality_settings
from labelkit.i18n import Message
from labelkit.store.tables import (
    annotations,
    annotator_events,
    annotators,
    answer_flags,
    gold_scores,
    reviews,
)

MEDIAN_TTL_SECONDS = 30.0  # the honest median is recomputed at most this often per process


def recent_gold_scores(
    conn: sa.Connection, annotator_id: int, window: int, since=None, before: int | None = None
) -> list:
    """The annotator's last `window` gold scores given after `since` (a datetime), newest
    first; `before`: only those of annotations older than this annotation id. Reads the
    annotator's own gold_scores rows only (an index range)."""
    query = (
        sa.select(gold_scores.c.score)
        .where(gold_scores.c.annotator_id == annotator_id)
        .order_by(gold_scores.c.annotation_id.desc())
        .limit(window)
    )
    if since is not None:
        query = query.where(gold_scores.c.created_at > since)
    if before is not None:
        query = query.where(gold_scores.c.annotation_id < before)
    return list(conn.execute(query).scalars())


def gold_accuracy(conn: sa.Connection, annotator_id: int, settings: QualitySettings):
    """(accuracy or None, count) over the current window (see the module)."""
    since = history.standing_since(conn, annotator_id)
    scores = recent_gold_scores(conn, annotator_id, settings.window, since)
    return (sum(scores) / len(scores) if scores else None), len(scores)


def exam_for(settings: QualitySettings, level: int, languages) -> ExamSettings | None:
    """The exam that qualifies for `level` and that this annotator may take (a real exam
    before a training one)."""
    fitting = [
        e
        for e in settings.exams_for_level(level)
        if e.language is None or languages is None or e.language in languages
    ]
    fitting.sort(key=lambda e: (e.training, e.name))
    return fitting[0] if fitting else None


def after_gold_score(
    conn: sa.Connection, annotator_id: int, settings: QualitySettings, top_level
) -> None:
    """Apply the gold accuracy rules after a new gold score (in the submit transaction).
    `top_level()`: the highest level any item has (called only when a promotion is due)."""
    who = conn.execute(
        sa.select(*_WHO.selected_columns, annotators.c.languages).where(
            annotators.c.id == annotator_id
        )
    ).first()
    if not _moved(who) or who.status != "active":
        return
    since = history.standing_since(conn, annotator_id)
    scores = recent_gold_scores(conn, annotator_id, settings.window, since)
    if len(scores) < settings.min_count:
        return
    accuracy = sum(scores) / len(scores)

    def said(case: str, limit: float, **values) -> Message:
        key = f"history.reason.gold_{case}"
        return Message.of(key, accuracy=accuracy, n=len(scores), limit=limit, **values)

    if accuracy < settings.suspend_below:
        reason = said("suspended", settings.suspend_below)
        history.change(conn, annotator_id, reason, status="suspended")
    elif accuracy < settings.retry_below:
        exam = exam_for(settings, who.level, who.languages)
        if exam is not None:
            reason = said("retry", settings.retry_below, exam=exam.name)
            history.change(conn, annotator_id, reason, status="retry")
        else:
            reason = said("warning", settings.retry_below, level=who.level)
            history.record(conn, annotator_id, "warning", reason)
    elif accuracy >= settings.promote_at and len(scores) >= settings.promotion_count:
        if top_level() <= who.level:
            return  # nothing harder to unlock
        level = who.level + 1
        exam = exam_for(settings, level, who.languages)
        if exam is None:
            reason = said("promoted", settings.promote_at, level=level)
            history.change(conn, annotator_id, reason, level=level)
        elif not _offered(conn, annotator_id, exam.name, since):
            reason = said("exam_offered", settings.promote_at, exam=exam.name, level=level)
            history.record(conn, annotator_id, "exam", reason, old=exam.name, new="offered")


def _offered(conn: sa.Connection, annotator_id: int, exam: str, since) -> bool:
    query = sa.select(annotator_events.c.id).where(
        annotator_events.c.annotator_id == annotator_id,
        annotator_events.c.kind == "exam",
        annotator_events.c.old == exam,
        annotator_events.c.new == "offered",
    )
    if since is not None:
        query = query.where(annotator_events.c.created_at > since)
    return conn.execute(query.limit(1)).first() is not None


# ---------------------------------------------------------------------------- fast answers


class SpeedCheck:
    """Flags answers much faster than the project's honest median (see the module)."""

    def __init__(self, settings: FastSettings):
        self.settings = settings
        self._median: tuple[float, float] | None = None  # (median ms, when computed)

    def median(self, conn: sa.Connection) -> float | None:
        """The median duration (ms) of the project's recent unflagged submitted answers;
        None until `min_samples` exist. Cached `MEDIAN_TTL_SECONDS` (one bounded scan of the
        newest annotations, by primary key, when it runs)."""
        cached = self._median
        if cached is not None and time.monotonic() - cached[1] < MEDIAN_TTL_SECONDS:
            return cached[0]
        flagged = (
            sa.select(answer_flags.c.annotation_id)
            .where(answer_flags.c.annotation_id == annotations.c.id, answer_flags.c.kind == "fast")
            .exists()
        )
        durations = list(
            conn.execute(
                sa.select(annotations.c.duration_ms)
                .where(
                    annotations.c.status == "submitted",
                    annotations.c.duration_ms.is_not(None),
                    annotations.c.version == 1,
                    ~flagged,
                )
                .order_by(annotations.c.id.desc())
                .limit(self.settings.samples)
            ).scalars()
        )
        if len(durations) < self.settings.min_samples:
            return None  # not cached: the next answer may bring the last sample
        median = float(statistics.median(durations))
        self._median = (median, time.monotonic())
        return median

    def check(self, conn: sa.Connection, annotation_id: int, annotator_id: int, duration_ms):
        """Flag the answer when too fast; suspend after too many flags. True when flagged."""
        median = self.median(conn)
        if median is None or duration_ms >= self.settings.ratio * median:
            return False
        ratio = self.settings.ratio
        detail = {"duration_ms": duration_ms, "median_ms": round(median), "ratio": ratio}
        conn.execute(
            answer_flags.insert().values(
                annotation_id=annotation_id,
                kind="fast",
                annotator_id=annotator_id,
                detail=detail,
                created_at=history.now(),
            )
        )
        self._suspend_if_repeated(conn, annotator_id, median)
        return True

    def _suspend_if_repeated(self, conn: sa.Connection, annotator_id: int, median: float) -> None:
        fast = self.settings
        query = (
            sa.select(answer_flags.c.annotation_id)
            .where(answer_flags.c.annotator_id == annotator_id, answer_flags.c.kind == "fast")
            .order_by(answer_flags.c.annotation_id.desc())
            .limit(fast.suspend_after)
        )
        since = history.standing_since(conn, annotator_id, ("status",))
        if since is not None:  # flags from before a resume are forgiven
            query = query.where(answer_flags.c.created_at > since)
        flagged = list(conn.execute(query).scalars())
        if len(flagged) < fast.suspend_after:
            return
        # How many answers they gave since the oldest of those flags (bounded by LIMIT).
        answered = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(annotations.c.id)
                .where(
                    annotations.c.annotator_id == annotator_id,
                    annotations.c.id >= flagged[-1],
                    annotations.c.status == "submitted",
                )
                .limit(fast.window + 1)
                .subquery()
            )
        ).scalar_one()
        if answered > fast.window:
            return
        who = conn.execute(_WHO.where(annotators.c.id == annotator_id)).first()
        if not _moved(who) or who.status == "suspended":
            return
        history.change(
            conn,
            annotator_id,
            Message.of(
                "history.reason.fast",
                flagged=len(flagged),
                answered=answered,
                ratio=fast.ratio,
                seconds=median / 1000,
            ),
            status="suspended",
        )


# ---------------------------------------------------------------------------- reviews


def apply_review_rules(target, annotator_id: int) -> dict | None:
    """The rejection rule, for the review app to call after each verdict (`target`: the
    project or its store). Suspends the annotator when more than `rejections.max_rate` of
    their answers reviewed since they were last resumed are rejected (once at least
    `rejections.min_reviewed` are). Returns {"reviewed", "rejected", "suspended"} or None
    when the rule is off."""
    store = getattr(target, "store", target)
    settings = _settings_of(target)
    rule = settings.rejections
    if rule is None:
        return None
    with store.writing() as conn:
        who = conn.execute(_WHO.where(annotators.c.id == annotator_id)).first()
        since = _last_resumed(conn, annotator_id)
        later = reviews.alias("later")
        newest = (  # the newest verdict on the annotation counts
            sa.select(sa.func.max(later.c.id))
            .where(later.c.annotation_id == reviews.c.annotation_id)
            .scalar_subquery()
        )
        query = (
            sa.select(reviews.c.verdict, reviews.c.created_at)
            .join(annotations, annotations.c.id == reviews.c.annotation_id)
            .where(annotations.c.annotator_id == annotator_id, reviews.c.id == newest)
        )
        if since is not None:
            query = query.where(reviews.c.created_at > since)
        verdicts = [row.verdict for row in conn.execute(query)]
        reviewed, rejected = len(verdicts), verdicts.count("rejected")
        suspend = (
            _moved(who)
            and who.status in ("active", "retry")
            and reviewed >= rule.min_reviewed
            and rejected / reviewed > rule.max_rate
        )
        if suspend:
            history.change(
                conn,
                annotator_id,
                Message.of(
                    "history.reason.rejected",
                    rejected=rejected,
                    reviewed=reviewed,
                    rate=rejected / reviewed,
                    max_rate=rule.max_rate,
                ),
                status="suspended",
            )
    return {"reviewed": reviewed, "rejected": rejected, "suspended": suspend}


_WHO = sa.select(
    annotators.c.level, annotators.c.status, annotators.c.role, annotators.c.token_hash
)


def _moved(who) -> bool:
    """Whether the rules may change this annotator's level or status (see the module)."""
    return who is not None and who.role == "annotator" and who.token_hash is not None


def _last_resumed(conn: sa.Connection, annotator_id: int):
    return conn.execute(
        sa.select(annotator_events.c.created_at)
        .where(
            annotator_events.c.annotator_id == annotator_id,
            annotator_events.c.kind == "status",
            annotator_events.c.new == "active",
        )
        .order_by(annotator_events.c.id.desc())
        .limit(1)
    ).scalar()


def _settings_of(target) -> QualitySettings:
    if hasattr(target, "quality_settings"):
        return target.quality_settings
    control = getattr(target, "quality", None)
    if control is not None and hasattr(control, "settings"):
        return control.settings
    return quality_settings(None)
