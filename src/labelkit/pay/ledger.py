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
from labelkit.store.tables import annotations, annotators, newest_verdict


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
    """Each annotator's earnings over [start, end) (aware datetimes), by name. Two grouped
    queries (active time; answers first given in the period with their newest verdict), so
    the dashboard's weekly figures do not walk every annotation in Python."""
    rates = pay_rates(project)
    start, end = _utc(start), _utc(end)
    ledger: dict[str, Earnings] = {}

    def entry(name: str, level: int) -> Earnings:
        return ledger.setdefault(name, Earnings(name, level, currency=rates.currency))

    with project.store.reading() as conn:
        since, until = _bound(conn, start), _bound(conn, end)
        for name, level, active_ms in conn.execute(_active_time(since, until, rates, annotator)):
            entry(name, level).active_seconds = (active_ms or 0) / 1000
        for name, level, verdict, n in conn.execute(_answers(since, until, annotator)):
            _count_answers(entry(name, level), verdict, n, rates)
    for item in ledger.values():
        level_rates = rates.for_level(item.level)
        item.amount = round(
            item.paid_answers * level_rates.per_answer + item.active_hours * level_rates.per_hour,
            4,
        )
    return {
        name: item for name, item in sorted(ledger.items()) if item.answers or item.active_seconds
    }


def _bound(conn: sa.Connection, moment: datetime):
    # SQLite keeps created_at as naive UTC text; PostgreSQL compares real instants.
    return moment.replace(tzinfo=None) if conn.dialect.name == "sqlite" else moment


def _person(query, annotator: str | None):
    return query if annotator is None else query.where(annotators.c.name == annotator)


def _active_time(since, until, rates: PayRates, annotator: str | None) -> sa.Select:
    """(name, level, active ms): every annotation in the period, each capped at idle_after."""
    cap = int(rates.idle_after_seconds * 1000)
    capped = sa.case((annotations.c.duration_ms > cap, cap), else_=annotations.c.duration_ms)
    query = (
        sa.select(annotators.c.name, annotators.c.level, sa.func.sum(capped))
        .join(annotators, annotators.c.id == annotations.c.annotator_id)
        .where(
            annotations.c.created_at >= since,
            annotations.c.created_at < until,
            annotations.c.duration_ms > 0,
        )
        .group_by(annotators.c.name, annotators.c.level)
    )
    return _person(query, annotator)


def _answers(since, until, annotator: str | None) -> sa.Select:
    """(name, level, verdict, count): items first answered in the period, by the reviewers'
    newest verdict on the annotator's newest submitted version (before the period's end)."""
    pairs = (
        sa.select(
            annotations.c.annotator_id,
            sa.func.max(annotations.c.id).label("newest"),
        )
        .where(annotations.c.status == "submitted", annotations.c.created_at < until)
        .group_by(annotations.c.annotator_id, annotations.c.item_id)
        .having(sa.func.min(annotations.c.created_at) >= since)
        .subquery()
    )
    verdict = newest_verdict(pairs.c.newest)
    answered = sa.select(pairs.c.annotator_id, verdict.label("verdict")).subquery()
    query = (
        sa.select(annotators.c.name, annotators.c.level, answered.c.verdict, sa.func.count())
        .join(annotators, annotators.c.id == answered.c.annotator_id)
        .group_by(annotators.c.name, annotators.c.level, answered.c.verdict)
    )
    return _person(query, annotator)


def _count_answers(entry: Earnings, verdict: str | None, n: int, rates: PayRates) -> None:
    """`n` answers whose newest verdict is `verdict` (None: not reviewed)."""
    entry.answers += n
    entry.accepted += n * (verdict == "accepted")
    entry.rejected += n * (verdict == "rejected")
    if verdict != "rejected" or rates.pay_rejected:
        entry.paid_answers += n


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
