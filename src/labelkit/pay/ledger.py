"""Earnings derived from answers: nothing is stored that the annotations do not already say.

Rules (documented in the README's "Pay" section and tested by hand-computed weeks):
- A paid answer is one item answered by one annotator: edits (new versions) are not paid again.
  It counts in the period of its first submitted version; skips, escalations and reports are
  not answers.
- It is rejected when a reviewer's newest verdict on the newest submitted version is
  "rejected"; rejected answers are unpaid unless the rates say `pay_rejected`.
- Active time is the time spent on each item shown (every annotation, any status), each capped
  at `idle_after_seconds`: beyond that the annotator had stepped away.
- Amount = paid answers x per-answer rate + active hours x hourly rate, at the rates of the
  annotator's level. Periods are in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.pay.rates import PayRates, pay_rates
from labelkit.store.store import newest_verdict
from labelkit.store.tables import annotations, annotators


@dataclass
class Earnings:
    annotator: str
    level: int
    answers: int = 0  # items answered in the period
    accepted: int = 0  # of which a reviewer accepted
    rejected: int = 0  # of which a reviewer rejected
    paid_answers: int = 0
    active_seconds: float = 0.0
    amount: float = 0.0
    currency: str = "EUR"

    @property
    def active_hours(self) -> float:
        return self.active_seconds / 3600

    @property
    def hourly_rate(self) -> float | None:
        """Amount per active hour; None without measured time."""
        return self.amount / self.active_hours if self.active_seconds > 0 else None


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """'2026-W48' -> [Monday 00:00 UTC, next Monday 00:00 UTC)."""
    match = re.fullmatch(r"(\d{4})-W(\d{1,2})", week.strip())
    if not match:
        raise LabelkitError(f"expected an ISO week like 2026-W48, got {week!r}")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise LabelkitError(f"{week!r} is not a week of that year") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return start, start + timedelta(days=7)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive timestamps; the store writes them in UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def earnings(
    project, start: datetime, end: datetime, *, annotator: str | None = None
) -> dict[str, Earnings]:
    """Each annotator's earnings over [start, end) (aware datetimes), by name."""
    rates = pay_rates(project)
    start, end = _utc(start), _utc(end)
    query = (
        sa.select(
            annotators.c.name,
            annotators.c.level,
            annotations.c.item_id,
            annotations.c.status,
            annotations.c.duration_ms,
            annotations.c.created_at,
            newest_verdict().label("verdict"),
        )
        .join(annotators, annotators.c.id == annotations.c.annotator_id)
        .order_by(annotations.c.id)
    )
    if annotator is not None:
        query = query.where(annotators.c.name == annotator)

    ledger: dict[str, Earnings] = {}
    first_answered: dict[tuple[str, int], datetime] = {}
    newest_verdict_of: dict[tuple[str, int], str | None] = {}
    with project.store.reading() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=5000).execute(query)
        for row in rows:
            moment = _utc(row.created_at)
            if moment >= end:
                continue
            entry = ledger.setdefault(
                row.name, Earnings(row.name, row.level, currency=rates.currency)
            )
            if moment >= start and row.duration_ms:
                entry.active_seconds += min(row.duration_ms / 1000, rates.idle_after_seconds)
            if row.status == "submitted":
                pair = (row.name, row.item_id)
                first_answered.setdefault(pair, moment)
                newest_verdict_of[pair] = row.verdict  # rows come oldest first
    for pair, moment in first_answered.items():
        if start <= moment < end:
            _count_answer(ledger[pair[0]], newest_verdict_of[pair], rates)
    for entry in ledger.values():
        level_rates = rates.for_level(entry.level)
        entry.amount = round(
            entry.paid_answers * level_rates.per_answer + entry.active_hours * level_rates.per_hour,
            4,
        )
    return {
        name: entry
        for name, entry in sorted(ledger.items())
        if entry.answers or entry.active_seconds
    }


def _count_answer(entry: Earnings, verdict: str | None, rates: PayRates) -> None:
    entry.answers += 1
    entry.accepted += verdict == "accepted"
    entry.rejected += verdict == "rejected"
    if verdict != "rejected" or rates.pay_rejected:
        entry.paid_answers += 1


def payroll(project, week: str):
    """One row per annotator for an ISO week: answers, accepted, rejected, active hours,
    amount, effective hourly rate, and whether that rate is under the configured floor."""
    import pandas as pd

    rates = pay_rates(project)
    start, end = week_bounds(week)
    floor = rates.hourly_floor
    rows = []
    for entry in earnings(project, start, end).values():
        rate = entry.hourly_rate
        rows.append(
            {
                "annotator": entry.annotator,
                "level": entry.level,
                "answers": entry.answers,
                "accepted": entry.accepted,
                "rejected": entry.rejected,
                "paid_answers": entry.paid_answers,
                "active_hours": round(entry.active_hours, 3),
                "amount": round(entry.amount, 2),
                "currency": entry.currency,
                "hourly_rate": None if rate is None else round(rate, 2),
                "below_floor": floor is not None and rate is not None and rate < floor,
            }
        )
    columns = ["annotator", "level", "answers", "accepted", "rejected", "paid_answers"]
    columns += ["active_hours", "amount", "currency", "hourly_rate", "below_floor"]
    return pd.DataFrame(rows, columns=columns)
