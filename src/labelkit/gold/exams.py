"""Exams and training: attempts, answers, grading, and the level an exam grants.

An exam (`quality.exams.NAME` in project.yaml) serves the gold items imported or added with
`exam: NAME`. An attempt takes `questions` of them (all by default), in an order drawn from the
attempt's id; its answers go to exam_answers, never to annotations (no consensus, export or
pay). A training exam returns the score and the explanation after each answer; a real exam
returns nothing until the end, and never the gold answer.

Finishing (every item answered): score = mean of the item scores; passed = score >= pass_rate.
Passing grants the exam's level (never lowers one) and turns a "retry" status back to active.
Every result writes an annotator_events row ("exam"), and each change a "level"/"status" one.

Which exams an annotator may take: level <= theirs + 1, a language they have (or any), not yet
passed (a retry annotator may retake the exam of their level), attempts left (`max_attempts`,
counted since they were sent to retry when they are).

What a person reads (why an exam is not open, a refusal, a history reason) is a Message
(labelkit.i18n): `why_not` comes in the `locale` asked for (English by default), ExamError
carries its Message for the page to say in the annotator's language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.gold import history
from labelkit.gold.scoring import score_answer
from labelkit.gold.settings import ExamSettings, QualitySettings
from labelkit.i18n import DEFAULT_LOCALE, Message, say
from labelkit.store.tables import annotators, exam_answers, exam_attempts, gold, items
from labelkit.team.assignment import ready


class ExamError(LabelkitError):
    """An exam that does not exist, may not be taken now, or an answer to something else.
    Raised with a Message (`exam.error.*`), so the page says it in the annotator's language."""

    def __init__(self, key: str, **values):
        super().__init__(Message(f"exam.error.{key}", values))


@dataclass
class ExamRun:
    """An attempt in progress: which items it asks, in order, and which are answered."""

    attempt_id: int
    exam: ExamSettings
    annotator_id: int
    item_ids: list[int]
    answered: set[int] = field(default_factory=set)

    @property
    def next_item_id(self) -> int | None:
        return next((i for i in self.item_ids if i not in self.answered), None)

    @property
    def progress(self) -> dict:
        return {"answered": len(self.answered), "total": len(self.item_ids)}


# ---------------------------------------------------------------------------- which exams


def exam_items(conn: sa.Connection, name: str) -> list[int]:
    query = (
        sa.select(items.c.id)
        .select_from(gold.join(items, items.c.id == gold.c.item_id))
        .where(gold.c.exam == name, ready())
        .order_by(items.c.id)
    )
    return list(conn.execute(query).scalars())


def available(project, annotator_id: int, locale: str = DEFAULT_LOCALE) -> list[dict]:
    """The exams this annotator may take now, with their figures (see the module)."""
    settings: QualitySettings = project.quality_settings
    if not settings.exams:
        return []
    with project.store.reading() as conn:
        who = _who(conn, annotator_id)
        if who.status not in ("active", "retry"):
            return []
        return [
            _said(info, locale)
            for exam in sorted(settings.exams.values(), key=lambda e: (e.level, e.name))
            if (info := _info(conn, exam, who))["available"]
        ]


def describe(project, annotator_id: int, locale: str = DEFAULT_LOCALE) -> list[dict]:
    """Every configured exam with this annotator's figures and whether they may take it
    (`why_not`: why not, in `locale`)."""
    settings: QualitySettings = project.quality_settings
    with project.store.reading() as conn:
        who = _who(conn, annotator_id)
        return [
            _said(_info(conn, exam, who), locale)
            for exam in sorted(settings.exams.values(), key=lambda e: (e.level, e.name))
        ]


def why_not(project, annotator_id: int, name: str) -> Message | None:
    """Why this annotator may not take exam `name` now (a Message); None when they may."""
    exam = project.quality_settings.exams[name]
    with project.store.reading() as conn:
        return _info(conn, exam, _who(conn, annotator_id))["why_not"]


def _said(info: dict, locale: str) -> dict:
    return info | {"why_not": info["why_not"] and say(info["why_not"], locale)}


def _who(conn: sa.Connection, annotator_id: int):
    who = conn.execute(
        sa.select(
            annotators.c.id, annotators.c.level, annotators.c.status, annotators.c.languages
        ).where(annotators.c.id == annotator_id)
    ).first()
    if who is None:
        raise ExamError("unknown_annotator", id=annotator_id)
    return who


def _info(conn: sa.Connection, exam: ExamSettings, who) -> dict:
    """The exam's figures for `who`; `why_not` is a Message (or None when open)."""
    attempts = conn.execute(
        sa.select(exam_attempts)
        .where(exam_attempts.c.annotator_id == who.id, exam_attempts.c.exam == exam.name)
        .order_by(exam_attempts.c.id)
    ).all()
    retaking = who.status == "retry" and exam.level == who.level
    counted = attempts
    if retaking:  # a retry starts a fresh count of attempts
        since = history.standing_since(conn, who.id, ("status",))
        if since is not None:
            since_ts = history.as_utc(since).timestamp()
            counted = [a for a in attempts if a.started_at >= since_ts]
    passed = any(a.passed for a in attempts)
    used = len(counted)
    left = None if exam.max_attempts is None else max(0, exam.max_attempts - used)
    n_items = len(exam_items(conn, exam.name))
    language_ok = exam.language is None or who.languages is None or exam.language in who.languages
    reason = None
    if n_items == 0:
        reason = Message.of("exam.why_not.no_items")
    elif exam.level > who.level + 1:
        reason = Message.of("exam.why_not.level", level=exam.level - 1)
    elif not language_ok:
        reason = Message.of("exam.why_not.language", language=exam.language)
    elif passed and not retaking:
        reason = Message.of("exam.why_not.passed")
    elif left == 0:
        reason = Message.of("exam.why_not.no_attempts")
    finished = [a for a in attempts if a.finished_at is not None]
    return {
        "name": exam.name,
        "level": exam.level,
        "training": exam.training,
        "language": exam.language,
        "pass_rate": exam.pass_rate,
        "questions": min(exam.questions or n_items, n_items),
        "attempts_used": used,
        "attempts_left": left,
        "passed": passed,
        "best_score": max((a.score for a in finished), default=None),
        "in_progress": any(a.finished_at is None for a in attempts),
        "available": reason is None,
        "why_not": reason,
    }


# ---------------------------------------------------------------------------- attempts


def start(project, annotator_id: int, name: str) -> ExamRun:
    """Start (or resume the unfinished) attempt at exam `name`; ExamError when it may not be
    taken now (the message says why)."""
    exam = project.quality_settings.exams.get(name)
    if exam is None:
        known = ", ".join(sorted(project.quality_settings.exams))
        raise ExamError(
            "unknown", name=name, known=known or Message.of("exam.error.none_configured")
        )
    store = project.store
    with store.writing() as conn:
        who = _who(conn, annotator_id)
        if who.status not in ("active", "retry"):
            raise ExamError("suspended")
        open_attempt = conn.execute(
            sa.select(exam_attempts.c.id)
            .where(
                exam_attempts.c.annotator_id == annotator_id,
                exam_attempts.c.exam == name,
                exam_attempts.c.finished_at.is_(None),
            )
            .order_by(exam_attempts.c.id.desc())
            .limit(1)
        ).scalar()
        if open_attempt is None:
            info = _info(conn, exam, who)
            if not info["available"]:
                raise ExamError("not_now", name=name, why=info["why_not"])
            open_attempt = conn.execute(
                exam_attempts.insert()
                .values(exam=name, annotator_id=annotator_id, started_at=_epoch())
                .returning(exam_attempts.c.id)
            ).scalar_one()
        pool = exam_items(conn, name)
        done = set(
            conn.execute(
                sa.select(exam_answers.c.item_id).where(exam_answers.c.attempt_id == open_attempt)
            ).scalars()
        )
    chosen = _draw(pool, open_attempt, exam.questions)
    return ExamRun(open_attempt, exam, annotator_id, chosen, done & set(chosen))


def _draw(pool: list[int], attempt_id: int, questions: int | None) -> list[int]:
    """The attempt's items in the attempt's order: a hash of (attempt, item), so a resumed
    attempt asks the same items in the same order."""

    def rank(item_id: int) -> bytes:
        return hashlib.blake2b(f"{attempt_id}:{item_id}".encode(), digest_size=8).digest()

    ordered = sorted(pool, key=rank)
    return ordered[:questions] if questions else ordered


def answer(project, run: ExamRun, item_id: int, value: dict, duration_ms: int | None = None):
    """Record the answer to the attempt's current item (validated against the schema).

    Returns {"feedback": ..., "result": ...}: feedback is {"score", "explanation"} for a
    training exam and None for a real one; result is the attempt's result once every item is
    answered (see `finish`), else None. Answering an item twice keeps the first answer."""
    if item_id not in run.item_ids:
        raise ExamError("not_in_attempt")
    item = project.store.item(item_id)
    value = project.schema.validate_answer(value, item.data)
    store = project.store
    with store.writing() as conn:
        attempt = conn.execute(
            sa.select(exam_attempts.c.finished_at).where(exam_attempts.c.id == run.attempt_id)
        ).first()
        if attempt is None or attempt.finished_at is not None:
            raise ExamError("finished")
        row = conn.execute(
            sa.select(gold.c.answer, gold.c.explanation).where(gold.c.item_id == item_id)
        ).first()
        earlier = conn.execute(
            sa.select(exam_answers.c.score).where(
                exam_answers.c.attempt_id == run.attempt_id, exam_answers.c.item_id == item_id
            )
        ).scalar()
        if earlier is None:
            score = score_answer(project.schema, value, row.answer, project.quality_settings)
            score = 1.0 if score is None else score  # nothing scorable: any answer is right
            conn.execute(
                exam_answers.insert().values(
                    attempt_id=run.attempt_id,
                    item_id=item_id,
                    answer=value,
                    score=score,
                    duration_ms=duration_ms,
                    created_at=history.now(),
                )
            )
        else:
            score = earlier
        run.answered.add(item_id)
        result = None
        if run.next_item_id is None:
            result = _finish(conn, store, run)
    feedback = None
    if run.exam.training:
        feedback = {"score": round(score, 3), "explanation": row.explanation or ""}
    return {"feedback": feedback, "result": result}


def _finish(conn: sa.Connection, store, run: ExamRun) -> dict:
    exam = run.exam
    scores = list(
        conn.execute(
            sa.select(exam_answers.c.score).where(
                exam_answers.c.attempt_id == run.attempt_id,
                exam_answers.c.item_id.in_(run.item_ids),
            )
        ).scalars()
    )
    score = sum(scores) / len(scores) if scores else 0.0
    passed = score >= exam.pass_rate
    closed = conn.execute(
        exam_attempts.update()
        .where(exam_attempts.c.id == run.attempt_id, exam_attempts.c.finished_at.is_(None))
        .values(finished_at=_epoch(), score=score, passed=passed)
    ).rowcount
    who = _who(conn, run.annotator_id)
    if closed:

        def said(case: str, **values) -> Message:
            key = f"history.reason.exam_{case}"
            return Message.of(key, exam=exam.name, score=score, pass_rate=exam.pass_rate, **values)

        outcome = "passed" if passed else "failed"
        history.record(conn, run.annotator_id, "exam", said(outcome), old=exam.name, new=outcome)
        if passed:
            if exam.level > who.level:
                reason = said("level", level=exam.level)
                history.change(conn, run.annotator_id, reason, level=exam.level)
            if who.status == "retry":
                history.change(conn, run.annotator_id, said("work_back"), status="active")
        who = _who(conn, run.annotator_id)
    left = None
    if exam.max_attempts is not None:
        left = _info(conn, exam, who)["attempts_left"]
    return {
        "exam": exam.name,
        "training": exam.training,
        "score": round(score, 3),
        "passed": passed,
        "pass_rate": exam.pass_rate,
        "answered": len(scores),
        "level": who.level,
        "status": who.status,
        "attempts_left": left,
    }


def _epoch() -> float:
    # The events' clock (not store.clock, which tests move for leases): attempts and events
    # are compared with each other.
    return history.now().timestamp()


def attempts(project, annotator_id: int) -> list[dict]:
    """The annotator's attempts, oldest first."""
    with project.store.reading() as conn:
        rows = conn.execute(
            sa.select(exam_attempts)
            .where(exam_attempts.c.annotator_id == annotator_id)
            .order_by(exam_attempts.c.id)
        ).all()
    return [
        {
            "exam": r.exam,
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "score": r.score,
            "passed": r.passed,
        }
        for r in rows
    ]
