"""A resolved item's consensus is its resolution: the final answer a reviewer gave to an
escalated item replaces what the annotators' answers agree on (confidence 1.0)."""

from __future__ import annotations

import pandas as pd

from labelkit.review.queue import resolved_items

RESOLVED_CONFIDENCE = 1.0


def with_resolutions(table: pd.DataFrame, store, questions=None) -> pd.DataFrame:
    """`table` (labelkit.quality.consensus' output) with each resolved item's rows replaced by
    its resolution, one row per question it answers (`questions`: the names kept, default
    all). `n` stays the number of answers the item had."""
    resolved = resolved_items(store)
    if not resolved:
        return table
    columns = list(table.columns)
    counts = table.groupby("item_id")["n"].max().to_dict() if len(table) else {}
    kept = table[~table["item_id"].isin(resolved)]
    rows = [
        {
            "item_id": item_id,
            "item": found["item"],
            "question": question,
            "value": value,
            "confidence": RESOLVED_CONFIDENCE,
            "n": int(counts.get(item_id, 0)),
            "spread": None,
        }
        for item_id, found in resolved.items()
        for question, value in found["answer"].items()
        if questions is None or question in questions
    ]
    if not rows:
        return kept.reset_index(drop=True)
    added = pd.DataFrame(rows, columns=columns)
    frames = [frame for frame in (kept, added) if len(frame)]
    merged = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return merged.sort_values(["item_id"], kind="stable").reset_index(drop=True)[columns]


def resolved_by_key(store) -> dict[str, dict[str, tuple]]:
    """{item key: {question: (value, 1.0)}} of the resolved items (the consensus view)."""
    return {
        found["item"]: {q: (value, RESOLVED_CONFIDENCE) for q, value in found["answer"].items()}
        for found in resolved_items(store).values()
    }
