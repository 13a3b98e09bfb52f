"""How much each item's answers agree: one rule for the review queue's low-agreement mode and
the dashboard's disagreement list, so both put the same items first.

An item's agreement is, per question it has two or more answers to (free text aside), the share
of those answers that give the most common value, averaged over those questions: 1.0 when all
agree. Values are compared as `comparable` says: a preference by its choice (not how much
better), a list of labels or categories whatever its order, anything else as canonical JSON.
"""

from __future__ import annotations

import json

import pandas as pd

from labelkit.quality.tidy import question_table

COLUMNS = ["item_id", "answers", "agreement"]


def comparable(question, value) -> str:
    """An answer's value as a key that equal answers share."""
    if question.type == "preference":
        return str(value.get("choice"))
    if question.type in ("multi_label", "taxonomy") and isinstance(value, list):
        value = sorted(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def item_agreement(answers: pd.DataFrame, schema) -> pd.DataFrame:
    """Per item with a question answered twice or more: answers (annotators) and agreement,
    lowest agreement first (then most answers, then id). `answers`: item_id, annotator,
    answer (the current submitted answers, rejected ones left out)."""
    parts = []
    for q in schema.questions:
        if q.type == "text":
            continue
        table = question_table(answers, q.name)
        if table.empty:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "item_id": table["item_id"].to_numpy(),
                    "question": q.name,
                    "key": [comparable(q, v) for v in table["value"]],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    long = pd.concat(parts, ignore_index=True)
    per_value = long.groupby(["item_id", "question", "key"]).size()
    per_question = per_value.groupby(level=["item_id", "question"]).agg(["max", "sum"])
    per_question = per_question[per_question["sum"] >= 2]
    share = (per_question["max"] / per_question["sum"]).groupby(level="item_id").mean()
    n = answers.groupby("item_id")["annotator"].nunique().reindex(share.index)
    table = pd.DataFrame(
        {"item_id": share.index.to_numpy(), "answers": n.to_numpy(), "agreement": share.to_numpy()}
    )
    return table.sort_values(
        ["agreement", "answers", "item_id"], ascending=[True, False, True]
    ).reset_index(drop=True)[COLUMNS]
