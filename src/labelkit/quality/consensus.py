"""Consensus answers: one row per (item, question) with the agreed value, a confidence (0-1)
and the number of answers used.

Each question type gets the consensus that fits its answer:

- label, single taxonomy, preference (its choice): `method` = "majority" (vote share as
  confidence), "dawid_skene" or "one_coin" (EM posterior of the chosen label as confidence);
  gold items are pinned to their gold answer when `gold` is given. A preference's strength is
  the most common strength among the answers that picked the winning choice.
- multi_label, multiple taxonomy: each label kept when more than half of the answers picked
  it; confidence = mean over labels of the share on the winning side (picked / not picked).
- rating: the median (or mean with ``rating="mean"``); confidence = 1 - std / (half the scale
  range), so 1 when all agree and 0 when answers split between the two ends; `spread` = std.
- ranking: Borda (options ordered by mean position); confidence = mean over answers of
  (1 + Kendall's tau with the consensus) / 2.
- spans: per character and label, kept when more than half of the answers cover it; merged
  into spans, severity = most common among overlapping answer spans; confidence = mean
  Jaccard similarity (over labelled characters) between each answer and the consensus.
- text: the most common answer (equal up to case and spacing) when at least two annotators
  wrote it (or only one answered), otherwise None; confidence = its share.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
import pandas as pd

from labelkit.errors import LabelkitError
from labelkit.quality.aggregation import AGGREGATORS
from labelkit.quality.tidy import question_table

OUTPUT_COLUMNS = ["item_id", "item", "question", "value", "confidence", "n", "spread"]
METHODS = tuple(AGGREGATORS)


def consensus(
    answers: pd.DataFrame,
    schema,
    *,
    method: str = "majority",
    gold: dict | None = None,
    rating: str = "median",
    questions: list[str] | None = None,
) -> pd.DataFrame:
    """The consensus per item and question of `answers` (the tidy table of current answers:
    `project.annotations(current_only=True)`; rows whose status is not "submitted" are left
    out). `gold`: {item_id: answer dict} pins gold items (categorical questions). See the
    module doc for what each question type's value and confidence mean."""
    if method not in AGGREGATORS:
        raise LabelkitError(f"unknown consensus method {method!r}; use one of {METHODS}")
    if rating not in ("median", "mean"):
        raise LabelkitError(f"rating consensus is 'median' or 'mean', not {rating!r}")
    wanted = [q for q in schema.questions if questions is None or q.name in questions]
    frames = []
    for question in wanted:
        table = question_table(answers, question.name)
        if table.empty:
            continue
        gold_values = _gold_for(gold, question.name)
        try:
            frame = _by_type(question, table, method, gold_values, rating)
        except LabelkitError as error:  # say which question: answers may predate a schema edit
            raise LabelkitError(f"question {question.name!r}: {error}") from None
        frame.insert(2, "question", question.name)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[OUTPUT_COLUMNS]


def _gold_for(gold: dict | None, question: str) -> dict:
    return {
        item_id: answer[question]
        for item_id, answer in (gold or {}).items()
        if isinstance(answer, dict) and answer.get(question) is not None
    }


def _by_type(question, table, method, gold, rating) -> pd.DataFrame:
    kind = question.type
    if kind == "label":
        return categorical(table, method, question.labels, gold)
    if kind == "taxonomy" and not question.multiple:
        return categorical(table, method, question.paths, gold)
    if kind == "preference":
        return preference(table, method, question, gold)
    if kind == "multi_label":
        return multi_label(table, question.labels)
    if kind == "taxonomy":
        return multi_label(table, question.paths)
    if kind == "rating":
        return ratings(table, question, rating)
    if kind == "ranking":
        return _per_item(table, ranking)
    if kind == "spans":
        return _per_item(table, spans)
    if kind == "text":
        return _per_item(table, free_text)
    raise LabelkitError(f"no consensus for question type {kind!r}")


def _items(table: pd.DataFrame) -> pd.DataFrame:
    """One row per item: item_id, item (first seen), n answers."""
    grouped = table.groupby("item_id", sort=True)
    return pd.DataFrame({"item": grouped["item"].first(), "n": grouped.size()}).reset_index()


# ---------------------------------------------------------------------------- categorical


def categorical(table, method, labels, gold=None) -> pd.DataFrame:
    """Labels by `method` over the item x annotator table; confidence = posterior of the
    chosen label (the vote share for majority)."""
    data = table.rename(columns={"item_id": "task", "annotator": "worker", "value": "label"})
    model = AGGREGATORS[method]().fit(data, gold=gold or None, labels=labels)
    out = _items(table).set_index("item_id")
    out["value"] = model.labels_.reindex(out.index).to_numpy()
    out["confidence"] = model.confidence_.reindex(out.index).to_numpy()
    out["spread"] = None
    return out.reset_index()


def preference(table, method, question, gold) -> pd.DataFrame:
    choices = list(question.options) + (["tie"] if question.allow_tie else [])
    choice_table = table.assign(value=[v["choice"] for v in table["value"]])
    gold_choices = {item: value["choice"] for item, value in gold.items()}
    out = categorical(choice_table, method, choices, gold_choices)
    strengths = {}
    for item_id, rows in table.groupby("item_id"):
        strengths[item_id] = Counter((v["choice"], v.get("strength")) for v in rows["value"])
    values = []
    for item_id, choice in zip(out["item_id"], out["value"], strict=True):
        picked = Counter(
            {s: c for (ch, s), c in strengths[item_id].items() if ch == choice and s is not None}
        )
        strength = picked.most_common(1)[0][0] if picked and choice != "tie" else None
        values.append({"choice": choice, "strength": strength})
    out["value"] = values
    return out


def multi_label(table, labels) -> pd.DataFrame:
    """Each label kept when more than half of the item's answers picked it."""
    index = {label: i for i, label in enumerate(labels)}
    items = _items(table)
    position = pd.Index(items["item_id"]).get_indexer(table["item_id"])
    picked = np.zeros((len(items), len(labels)))
    for row, value in zip(position, table["value"], strict=True):
        for label in value:
            picked[row, index[label]] += 1
    share = picked / items["n"].to_numpy()[:, None]
    keep = share > 0.5
    items["value"] = [[labels[j] for j in np.flatnonzero(row)] for row in keep]
    items["confidence"] = np.where(keep, share, 1 - share).mean(axis=1)
    items["spread"] = None
    return items


def ratings(table, question, how: str) -> pd.DataFrame:
    values = table.assign(value=table["value"].astype(float))
    grouped = values.groupby("item_id", sort=True)["value"]
    items = _items(table)
    center = grouped.median() if how == "median" else grouped.mean()
    spread = grouped.std(ddof=0)
    items["value"] = center.to_numpy()
    items["spread"] = spread.to_numpy()
    half_range = (question.max - question.min) / 2
    items["confidence"] = np.clip(1 - spread.to_numpy() / half_range, 0, 1)
    return items


# ---------------------------------------------------------------------------- per item


def _per_item(table, consensus_of) -> pd.DataFrame:
    items = _items(table)
    found = [consensus_of(list(rows)) for _, rows in table.groupby("item_id", sort=True)["value"]]
    items["value"] = [value for value, _ in found]
    items["confidence"] = [confidence for _, confidence in found]
    items["spread"] = None
    return items


def kendall_tau(order_a: list, order_b: list) -> float:
    """Kendall's tau between two rankings of the same options (1 = same order)."""
    rank_b = {option: i for i, option in enumerate(order_b)}
    pairs = list(combinations(order_a, 2))
    if not pairs:
        return 1.0
    concordant = sum(1 if rank_b[a] < rank_b[b] else -1 for a, b in pairs)
    return concordant / len(pairs)


def ranking(values: list[list]) -> tuple[list, float]:
    positions: dict = {}
    for order in values:
        for i, option in enumerate(order):
            positions.setdefault(option, []).append(i)
    first_seen = list(positions)
    agreed = sorted(first_seen, key=lambda o: (np.mean(positions[o]), first_seen.index(o)))
    confidence = float(np.mean([(1 + kendall_tau(order, agreed)) / 2 for order in values]))
    return agreed, confidence


def _cells(span_list: list[dict]) -> set[tuple[int, str]]:
    return {(i, s["label"]) for s in span_list for i in range(s["start"], s["end"])}


def spans(values: list[list[dict]]) -> tuple[list[dict], float]:
    votes = Counter(cell for answer in values for cell in _cells(answer))
    kept = sorted(cell for cell, count in votes.items() if count > len(values) / 2)
    merged: list[dict] = []
    for position, label in sorted(kept, key=lambda c: (c[1], c[0])):
        last = merged[-1] if merged else None
        if last and last["label"] == label and last["end"] == position:
            last["end"] += 1
        else:
            merged.append({"start": position, "end": position + 1, "label": label})
    for span in merged:
        severities = Counter(
            s.get("severity")
            for answer in values
            for s in answer
            if s["label"] == span["label"] and s["start"] < span["end"] and span["start"] < s["end"]
        )
        span["severity"] = severities.most_common(1)[0][0] if severities else None
    merged.sort(key=lambda s: (s["start"], s["end"]))
    agreed = _cells(merged)
    confidence = float(np.mean([jaccard(_cells(answer), agreed) for answer in values]))
    return merged, confidence


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|, 1 for two empty sets (both say "no span")."""
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def free_text(values: list[str]) -> tuple[str | None, float]:
    """Texts equal up to case and spacing count as one; the first spelling seen is returned."""
    spelling: dict[str, str] = {}
    for value in values:
        spelling.setdefault(" ".join(value.split()).casefold(), value.strip())
    ((key, count),) = Counter(" ".join(v.split()).casefold() for v in values).most_common(1)
    if count < 2 and len(values) > 1:
        return None, count / len(values)
    return spelling[key], count / len(values)
