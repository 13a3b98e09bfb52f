"""What an annotator (and their lead) sees of their standing: level, status, gold accuracy,
what the next level requires, the exams open to them, and their history.

Shown to the annotator (`for_annotator=True`), the gold figures leave out their newest
`HIDDEN_NEWEST` answers: a figure that moved right after an answer would tell them that item was
gold. The lead sees the figures the rules use.
"""

from __future__ import annotations

import sqlalchemy as sa

from labelkit.gold import exams, history
from labelkit.gold.control import QualityControl
from labelkit.gold.policy import exam_for, recent_gold_scores
from labelkit.store.tables import annotations, answer_flags

HIDDEN_NEWEST = 10
HISTORY_EVENTS = 10


def annotator_status(project, name: str, *, for_annotator: bool = False) -> dict:
    """The standing of annotator `name` (AccountError when unknown); see the module."""
    account = project.annotators.get(name)
    settings = project.quality_settings
    with project.store.reading() as conn:
        since = history.standing_since(conn, account.id)
        before = _hidden_from(conn, account.id) if for_annotator else None
        scores = recent_gold_scores(conn, account.id, settings.window, since, before)
        control = project.store.quality or QualityControl(project, settings)
        top = control.top_level(conn)  # cached between imports
        fast = conn.execute(
            sa.select(sa.func.count())
            .select_from(answer_flags)
            .where(answer_flags.c.annotator_id == account.id, answer_flags.c.kind == "fast")
        ).scalar_one()
    accuracy = sum(scores) / len(scores) if scores else None
    open_exams = exams.available(project, account.id)
    figures = {
        "name": account.name,
        "role": account.role,
        "level": account.level,
        "status": account.status,
        "gold": {
            "accuracy": None if accuracy is None else round(accuracy, 3),
            "count": len(scores),
            "window": settings.window,
            "min_count": settings.min_count,
        },
        "next_level": _next_level(project, account, accuracy, len(scores), top, open_exams),
        "exams": open_exams,
        "history": history.events(project.store, account.id, limit=HISTORY_EVENTS),
    }
    if not for_annotator:
        figures["fast_flags"] = fast
    return figures


def _hidden_from(conn: sa.Connection, annotator_id: int) -> int:
    """The id of the annotator's HIDDEN_NEWEST-th newest answer: scores from it on are hidden
    (0: hide everything when they have fewer answers)."""
    found = conn.execute(
        sa.select(annotations.c.id)
        .where(annotations.c.annotator_id == annotator_id)
        .order_by(annotations.c.id.desc())
        .limit(1)
        .offset(HIDDEN_NEWEST - 1)
    ).scalar()
    return found or 0


def _next_level(project, account, accuracy, count: int, top: int, open_exams) -> dict:
    settings = project.quality_settings
    level = account.level + 1
    if account.status == "suspended":
        return {"level": None, "requires": "Access is suspended: the project lead can resume it."}
    if account.status == "retry":
        exam = exam_for(settings, account.level, account.languages)
        name = exam.name if exam else "of your level"
        rate = f" ({exam.pass_rate:.0%} needed)" if exam else ""
        return {
            "level": account.level,
            "requires": f"Pass the exam {name!r} again{rate} to get work back.",
        }
    if top <= account.level:
        return {"level": None, "requires": f"Level {account.level} is this project's highest."}
    exam = exam_for(settings, level, account.languages)
    if exam is not None:
        needed = f"{exam.pass_rate:.0%} needed"
        sentence = f"Pass the exam {exam.name!r} ({needed}) to reach level {level}."
        if not any(e["name"] == exam.name for e in open_exams):
            info = next(
                (e for e in exams.describe(project, account.id) if e["name"] == exam.name), None
            )
            if info and info["why_not"]:
                sentence += f" Not open now: {info['why_not']}."
        return {"level": level, "requires": sentence}
    needed = settings.promotion_count
    sentence = (
        f"A gold accuracy of at least {settings.promote_at:.0%} over {needed} gold answers "
        f"reaches level {level}"
    )
    if accuracy is None:
        sentence += " (no gold answers counted yet)."
    else:
        sentence += f" (now {accuracy:.0%} over {count})."
    return {"level": level, "requires": sentence}
