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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.gold import history
from labelkit.gold.scoring import score_answer
from labelkit.gold.settings import ExamSettings, QualitySettings
from labelkit.store.tables import annotators, exam_answers, exam_attempts, gold, items
from labelkit.team.assignment import ready


class ExamError(LabelkitError):
    """An exam that does not exist, may not be taken now, or an answer to something else."""


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


def available(project, annotator_id: int) -> list[dict]:
    """The exams this annotator may take now, with their figures (see the module)."""
    settings: QualitySettings = project.quality_settings
    if not settings.exams:
        return []
    with project.store.reading() as conn:
        who = _who(conn, annotator_id)
        if who.status not in ("active", "retry"):
            return []
        return [
            info
            for exam in sorted(settings.exams.values(), key=lambda e: (e.level, e.name))
            if (info := _info(conn, exam, who))["available"]
        ]


def describe(project, annotator_id: int) -> list[dict]:
    """Every configured exam with this annotator's figures and whether they may take it."""
    settings: QualitySettings = project.quality_settings
    with project.store.reading() as conn:
        who = _who(conn, annotator_id)
        return [
            _info(conn, exam, who)
            for exam in sorted(settings.exams.values(), key=lambda e: (e.level, e.name))
        ]


def _who(conn: sa.Connection, annotator_id: int):
    who = conn.execute(
        sa.select(
            annotators.c.id, annotators.c.level, annotators.c.status, annotators.c.languages
        ).where(annotators.c.id == annotator_id)
    ).first()
    if who is None:
        raise ExamError(f"unknown annotator id {annotator_id}")
    return who


def _info(conn: sa.Connection, exam: ExamSettings, who) -> dict:
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
        reason = "this exam has no items yet"
    elif exam.level > who.level + 1:
        reason = f"first reach level {exam.level - 1}"
    elif not language_ok:
        reason = f"this exam is for annotators working in {exam.language}"
    elif passed and not retaking:
        reason = "already passed"
    elif left == 0:
        reason = "no attempts left"
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
        known = ", ".join(sorted(project.quality_settings.exams)) or "none configured"
        raise ExamError(f"unknown exam {name!r} (exams: {known})")
    store = project.store
    with store.writing() as conn:
        who = _who(conn, annotator_id)
        if who.status not in ("active", "retry"):
            raise ExamError("a suspended annotator cannot take exams")
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
                raise ExamError(f"the exam {name!r} cannot be taken now: {info['why_not']}")
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
        raise ExamError("this item is not part of the exam attempt")
    item = project.store.item(item_id)
    value = project.schema.validate_answer(value, item.data)
    store = project.store
    with store.writing() as conn:
        attempt = conn.execute(
            sa.select(exam_attempts.c.finished_at).where(exam_attempts.c.id == run.attempt_id)
        ).first()
        if attempt is None or attempt.finished_at is not None:
            raise ExamError("this exam attempt is already finished")
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
        said = f"the exam {exam.name!r} with {score:.2f} ({exam.pass_rate:.2f} needed)"
        history.record(
            conn,
            run.annotator_id,
            "exam",
            f"{'passed' if passed else 'failed'} {said}",
            old=exam.name,
            new="passed" if passed else "failed",
        )
        if passed:
            if exam.level > who.level:
                history.change(
                    conn, run.annotator_id, f"passed {said}: level {exam.level}", level=exam.level
                )
            if who.status == "retry":
                history.change(
                    conn, run.annotator_id, f"passed {said}: work is back", status="active"
                )
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
