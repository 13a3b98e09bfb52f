"""From the answers table (one row per annotator and item, `answer` a dict) to per-question
tidy tables (one row per item, annotator and value), the shape every aggregator reads."""

from __future__ import annotations

import pandas as pd

from labelkit.errors import LabelkitError

TIDY_COLUMNS = ["item_id", "item", "annotator", "value"]


def submitted(answers: pd.DataFrame) -> pd.DataFrame:
    """The rows that count: submitted answers (when a `status` column says so)."""
    missing = {"item_id", "annotator", "answer"} - set(answers.columns)
    if missing:
        raise LabelkitError(
            f"the answers table lacks the columns {sorted(missing)}; "
            "pass project.annotations(current_only=True)"
        )
    if "status" in answers.columns:
        answers = answers[answers["status"].isna() | (answers["status"] == "submitted")]
    if "current" in answers.columns:
        answers = answers[answers["current"].fillna(True).astype(bool)]
    return answers


def question_table(answers: pd.DataFrame, question: str) -> pd.DataFrame:
    """Tidy (item_id, item, annotator, value) rows for one question; answers that skip it
    (conditional questions) are left out."""
    answers = submitted(answers)
    items = answers["item"] if "item" in answers.columns else answers["item_id"]
    rows = [
        (item_id, item, annotator, answer[question])
        for item_id, item, annotator, answer in zip(
            answers["item_id"], items, answers["annotator"], answers["answer"], strict=True
        )
        if isinstance(answer, dict) and answer.get(question) is not None
    ]
    return pd.DataFrame(rows, columns=TIDY_COLUMNS)


def gold_answers(store) -> dict[int, dict]:
    """{item_id: gold answer dict} of a project's store."""
    import sqlalchemy as sa

    from labelkit.store.tables import gold

    with store.reading() as conn:
        return {row.item_id: row.answer for row in conn.execute(sa.select(gold))}


def project_answers(project) -> pd.DataFrame:
    """The current, submitted answers of a project (the table the quality functions read);
    answers a reviewer rejected (newest verdict) are left out."""
    answers = project.annotations(current_only=True)
    keep = (answers["status"] == "submitted") & ~answers["id"].isin(rejected_ids(project.store))
    return answers[keep].reset_index(drop=True)


def rejected_ids(store) -> set[int]:
    """Ids of the annotations whose newest review verdict is "rejected"."""
    import sqlalchemy as sa

    from labelkit.store.tables import reviews

    newest: dict[int, str] = {}
    query = sa.select(reviews.c.annotation_id, reviews.c.verdict).order_by(reviews.c.id)
    with store.reading() as conn:
        for annotation_id, verdict in conn.execute(query):  # oldest first: the newest stays
            newest[annotation_id] = verdict
    return {annotation_id for annotation_id, verdict in newest.items() if verdict == "rejected"}


def item_metadata(store) -> dict[int, dict]:
    """{item_id: metadata dict} of the items that have metadata."""
    import sqlalchemy as sa

    from labelkit.store.tables import items

    column = items.c["metadata"]
    query = sa.select(items.c.id, column).where(column.is_not(None))
    with store.reading() as conn:
        return {row[0]: row[1] for row in conn.execute(query) if row[1]}
