"""What an annotator (and their lead) sees of their standing: level, status, gold accuracy,
what the next level requires, the exams open to them, and their history.

Shown to the annotator (`for_annotator=True`), the gold figures leave out their newest
`HIDDEN_NEWEST` answers: a figure that moved right after an answer would tell them that item was
gold. The lead sees the figures the rules use.

The sentences (what the next level requires, history reasons, why an exam is not open) come in
the `locale` asked for: the annotator's in their app, English for the lead and the CLI.
"""

from __future__ import annotations

import sqlalchemy as sa

from labelkit.gold import exams, history
from labelkit.gold.control import QualityControl
from labelkit.gold.policy import exam_for, recent_gold_scores
from labelkit.i18n import DEFAULT_LOCALE, Message
from labelkit.store.tables import annotations, answer_flags

HIDDEN_NEWEST = 10
HISTORY_EVENTS = 10


def annotator_status(
    project, name: str, *, for_annotator: bool = False, locale: str = DEFAULT_LOCALE
) -> dict:
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
    open_exams = exams.available(project, account.id, locale)
    level, requires = _next_level(project, account, accuracy, len(scores), top, open_exams)
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
        "next_level": {"level": level, "requires": requires.text(locale)},
        "exams": open_exams,
        "history": history.events(project.store, account.id, HISTORY_EVENTS, locale),
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


def _next_level(project, account, accuracy, count: int, top: int, open_exams):
    """(the next level or None, what it requires as a Message)."""
    settings = project.quality_settings
    level = account.level + 1
    if account.status == "suspended":
        return None, Message.of("gold.requires.suspended")
    if account.status == "retry":
        exam = exam_for(settings, account.level, account.languages)
        if exam is None:
            return account.level, Message.of("gold.requires.retry_no_exam")
        return account.level, Message.of(
            "gold.requires.retry", exam=exam.name, pass_rate=exam.pass_rate
        )
    if top <= account.level:
        return None, Message.of("gold.requires.top", level=account.level)
    exam = exam_for(settings, level, account.languages)
    if exam is not None:
        said = {"exam": exam.name, "pass_rate": exam.pass_rate, "level": level}
        why = None
        if not any(e["name"] == exam.name for e in open_exams):
            why = exams.why_not(project, account.id, exam.name)
        if why is not None:
            return level, Message.of("gold.requires.exam_closed", why=why, **said)
        return level, Message.of("gold.requires.exam", **said)
    said = {"promote_at": settings.promote_at, "n": settings.promotion_count, "level": level}
    if accuracy is None:
        return level, Message.of("gold.requires.accuracy_none", **said)
    return level, Message.of("gold.requires.accuracy", accuracy=accuracy, count=count, **said)
