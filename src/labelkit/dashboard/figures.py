"""Every figure the team dashboard shows, as plain JSON-ready data (`labelkit stats --json`).

`project_figures(project)` reads the project once per call: the current submitted answers
(labelkit.quality.tidy.project_answers), a few grouped queries, and the quality functions
(agreement, majority consensus, Bradley-Terry leaderboard). Definitions:

- progress: items complete / in progress / not started at the project's overlap (the store's
  counts; gold items apart).
- throughput: submitted annotations (every submit, edits included: it is work done) per hour
  when the first answer is at most three days old, else per day, up to now; the last
  `MAX_PERIODS` periods.
- per annotator: `answers` = items they answered (current submitted answers), `median_seconds`
  = median time on those answers, `gold_score` = mean honeypot score (gold_scores), and
  `agreement_with_consensus` = the share of their categorical answers (label, single
  taxonomy, preference choice) equal to the item's majority vote, over items with 2+ answers;
  `earned_week` from labelkit.pay.ledger (ISO week, UTC); sensitive items they saw in the last
  hour, 24 hours and 7 days, their opt-outs and the exposure limit that holds sensitive items
  back from them now, if any (labelkit.wellbeing.exposure: the figures its limits use).
- agreement per question: labelkit.quality.project_figures.agreement_by_question.
- label distributions: every current submitted answer, counted as on the dataset card.
- disagreements: items with 2+ answers ordered by their agreement, lowest first
  (labelkit.quality.item_agreement: the review queue's low-agreement order too). Each comes
  with its fields and every answer (drill-down).
- leaderboard: Bradley-Terry ratings of the models of the first preference question, when the
  items name their models (else `error` says what to add, and `said` is that as a Message's
  JSON, for the dashboard to say in the reader's language).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.quality.item_agreement import comparable, item_agreement
from labelkit.store.tables import annotations, annotators, gold_scores, items

MAX_PERIODS = 500  # throughput periods kept (hours: three weeks; days: 16 months)
HOURLY_SPAN = timedelta(days=3)  # answers spanning longer are counted per day
DISAGREEMENTS = 20  # items in the disagreement list


def project_figures(
    project, *, now: datetime | None = None, disagreements: int = DISAGREEMENTS
) -> dict[str, Any]:
    """Everything `labelkit stats --json` prints and the dashboard draws (see the module doc)."""
    from labelkit.quality.project_figures import agreement_by_question
    from labelkit.quality.tidy import project_answers

    now = (now or datetime.now(UTC)).astimezone(UTC)
    answers = project_answers(project)
    # Plain object columns: the quality functions iterate them row by row, and pandas' arrow
    # strings are several times slower to iterate.
    answers = answers.astype({"item": object, "annotator": object})
    schema = project.schema
    progress = project.progress()
    return {
        "project": str(project.path),
        "title": schema.title,
        "kind": schema.kind,
        "overlap": project.overlap,
        "order": project.order,
        "database": "sqlite" if project.store.url.startswith("sqlite") else "postgresql",
        **progress,
        "generated_at": now.isoformat(timespec="seconds"),
        "answers_per_question": answers_per_question(answers, schema),
        "agreement": agreement_by_question(project, answers),
        "throughput": throughput(project.store, now),
        "per_annotator": per_annotator(project, answers, now),
        "distributions": distributions(answers, schema),
        "disagreements": disagreement_list(project.store, answers, schema, disagreements),
        "leaderboard": leaderboard(project),
    }


# ---------------------------------------------------------------------------- answers


def answers_per_question(answers: pd.DataFrame, schema) -> dict[str, int]:
    counted = Counter(name for answer in answers["answer"] if answer for name in answer)
    return {q.name: counted.get(q.name, 0) for q in schema.questions}


def distributions(answers: pd.DataFrame, schema) -> dict[str, list[list]]:
    """Per question [[value, count], ...]: labels in the schema's order, ratings by value,
    anything else most common first."""
    from labelkit.publish.card import counted_as

    out = {}
    for q in schema.questions:
        counts: Counter = Counter()
        key_of = counted_as(q)
        for answer in answers["answer"]:
            value = answer.get(q.name) if answer else None
            if value is None:
                continue
            if key_of is None:
                counts[value] += 1
            else:
                counts.update(key_of(value))
        out[q.name] = [[_plain(v), n] for v, n in _ordered(q, counts)]
    return out


def _ordered(question, counts: Counter) -> list[tuple]:
    if question.type == "rating":
        return sorted(counts.items())
    labels = getattr(question, "labels", None) or getattr(question, "options", None)
    if labels:
        known = [(label, counts[label]) for label in labels if label in counts]
        rest = [(v, n) for v, n in counts.most_common() if v not in set(labels)]
        return known + rest
    return counts.most_common()


def _categorical(question) -> bool:
    return question.type in ("label", "preference") or (
        question.type == "taxonomy" and not question.multiple
    )


# ---------------------------------------------------------------------------- throughput


def throughput(store, now: datetime) -> dict[str, Any]:
    """Submitted annotations per period (zero-filled), and in the last hour / today."""
    query = sa.select(annotations.c.created_at).where(annotations.c.status == "submitted")
    with store.reading() as conn:
        moments = pd.Series(conn.execute(query).scalars().all(), dtype="object")
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    empty = {"unit": "hour", "periods": [], "last_hour": 0, "today": 0}
    if moments.empty:
        return empty
    times = pd.to_datetime(moments, utc=True)  # SQLite's naive timestamps are UTC
    # Up to now: a team that stopped an hour ago shows empty hours, not a chart that ends.
    end = max(times.max(), pd.Timestamp(now))
    unit, freq = ("hour", "h") if end - times.min() <= HOURLY_SPAN else ("day", "D")
    buckets = times.dt.floor(freq).value_counts()
    periods = pd.date_range(buckets.index.min(), end.floor(freq), freq=freq)
    periods = periods[-MAX_PERIODS:]
    counts = buckets.reindex(periods, fill_value=0)
    return {
        "unit": unit,
        "periods": [[t.isoformat(), int(n)] for t, n in counts.items()],
        "last_hour": int((times > now - timedelta(hours=1)).sum()),
        "today": int((times >= day_start).sum()),
    }


# ---------------------------------------------------------------------------- per annotator


def per_annotator(project, answers: pd.DataFrame, now: datetime) -> list[dict]:
    """One entry per annotator (accounts and token-less names alike), by name."""
    from labelkit.pay.ledger import earnings, week_bounds
    from labelkit.pay.rates import pay_rates
    from labelkit.wellbeing import exposure as wellbeing_exposure

    store = project.store
    with store.reading() as conn:
        people = conn.execute(
            sa.select(
                annotators.c.id,
                annotators.c.name,
                annotators.c.role,
                annotators.c.level,
                annotators.c.status,
            ).order_by(annotators.c.name)
        ).all()
        gold = {
            row.annotator_id: (row.score, row.n)
            for row in conn.execute(
                sa.select(
                    gold_scores.c.annotator_id,
                    sa.func.avg(gold_scores.c.score).label("score"),
                    sa.func.count().label("n"),
                ).group_by(gold_scores.c.annotator_id)
            )
        }
    iso = now.isocalendar()
    week_start, week_end = week_bounds(f"{iso.year}-W{iso.week:02d}")
    money = earnings(project, week_start, week_end)
    currency = pay_rates(project).currency
    exposure = {seen.annotator: seen for seen in wellbeing_exposure(project, now.timestamp())}
    counts = answers.groupby("annotator").size()
    seconds = (answers["duration_ms"].astype("float64") / 1000).groupby(answers["annotator"])
    medians = seconds.median()
    agreed, compared = agreement_with_consensus(answers, project.schema)
    out = []
    for person in people:
        name = person.name
        score, n_gold = gold.get(person.id, (None, 0))
        shared = int(compared.get(name, 0))
        seen = exposure.get(name)
        out.append(
            {
                "annotator": name,
                "role": person.role,
                "level": person.level,
                "status": person.status,
                "answers": int(counts.get(name, 0)),
                "median_seconds": _plain(medians.get(name)),
                "gold_score": _plain(score),
                "gold_answers": int(n_gold),
                "agreement_with_consensus": _plain(agreed.get(name, 0) / shared)
                if shared
                else None,
                "compared_answers": shared,
                "earned_week": round(money[name].amount, 2) if name in money else 0.0,
                "currency": currency,
                "sensitive_hour": seen.sensitive_hour if seen else 0,
                "sensitive_day": seen.sensitive_day if seen else 0,
                "sensitive_week": seen.sensitive_week if seen else 0,
                "opt_outs": seen.opt_outs if seen else [],
                "exposure_limit": seen.limited if seen else None,
            }
        )
    return out


def agreement_with_consensus(answers: pd.DataFrame, schema) -> tuple[pd.Series, pd.Series]:
    """(answers equal to the majority vote, answers compared) per annotator, over the
    categorical questions and the items with at least two answers."""
    from labelkit.quality.consensus import consensus
    from labelkit.quality.tidy import question_table

    questions = [q for q in schema.questions if _categorical(q)]
    empty = pd.Series(dtype="int64")
    if answers.empty or not questions:
        return empty, empty
    found = consensus(answers, schema, method="majority", questions=[q.name for q in questions])
    found = found[found["n"] >= 2]
    parts = []
    for q in questions:
        majority = found[found["question"] == q.name]
        if majority.empty:
            continue
        winner = dict(
            zip(majority["item_id"], (comparable(q, v) for v in majority["value"]), strict=True)
        )
        table = question_table(answers, q.name)
        table = table[table["item_id"].isin(winner.keys())]
        given = [comparable(q, v) for v in table["value"]]
        expected = [winner[i] for i in table["item_id"]]
        parts.append(
            pd.DataFrame(
                {
                    "annotator": table["annotator"].to_numpy(),
                    "agree": [a == b for a, b in zip(given, expected, strict=True)],
                }
            )
        )
    if not parts:
        return empty, empty
    rows = pd.concat(parts, ignore_index=True)
    grouped = rows.groupby("annotator")["agree"]
    return grouped.sum(), grouped.size()


# ---------------------------------------------------------------------------- disagreements


def disagreement_list(store, answers: pd.DataFrame, schema, limit: int) -> list[dict]:
    """The `limit` items whose answers agree least, each with its fields and every answer."""
    ranked = item_agreement(answers, schema).head(limit)
    if ranked.empty:
        return []
    ids = [int(i) for i in ranked["item_id"]]
    with store.reading() as conn:
        found = {
            row.id: row
            for row in conn.execute(
                sa.select(items.c.id, items.c.key, items.c.data).where(items.c.id.in_(ids))
            )
        }
    mine = answers[answers["item_id"].isin(ids)].sort_values(["item_id", "annotator"])
    by_item = {item_id: rows for item_id, rows in mine.groupby("item_id")}
    out = []
    for item_id, n, share in ranked.itertuples(index=False):
        rows = by_item[item_id]
        out.append(
            {
                "item_id": int(item_id),
                "item": found[item_id].key,
                "answers": int(n),
                "agreement": _plain(share),
                "fields": found[item_id].data,
                "responses": [
                    {
                        "annotator": a.annotator,
                        "answer": a.answer,
                        "duration_ms": _plain(a.duration_ms),
                        "created_at": _iso(a.created_at),
                    }
                    for a in rows.itertuples(index=False)
                ],
            }
        )
    return out


# ---------------------------------------------------------------------------- leaderboard


def leaderboard(project) -> dict | None:
    """The model leaderboard of a preference project (None for other projects)."""
    questions = [q for q in project.schema.questions if q.type == "preference"]
    if not questions:
        return None
    try:
        board, _ = project.leaderboard(questions[0].name)
    except LabelkitError as error:
        said = error.message.to_json() if error.message is not None else None
        return {"question": questions[0].name, "models": [], "error": str(error), "said": said}
    models = [
        {"model": str(name)} | {column: _plain(value) for column, value in row.items()}
        for name, row in board.iterrows()
    ]
    return {"question": questions[0].name, "models": models, "error": None, "said": None}


# ---------------------------------------------------------------------------- plain values


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment) -> str | None:
    if moment is None or moment is pd.NaT:
        return None
    return _utc(pd.Timestamp(moment).to_pydatetime()).isoformat(timespec="seconds")


def _plain(value):
    """A JSON-ready number (4 decimals) or value; None for missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if value != value else round(value, 4)
    return value
