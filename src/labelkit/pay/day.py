"""The annotator's day: answers toward a daily goal, the streak, time and money so far.

What the session shows in its header. Days and weeks are UTC, like the payroll. Computed from
the annotator's own recent annotations (an index range on annotator_id), so it is cheap enough
to refresh whenever the session starts or the day turns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from statistics import median

import sqlalchemy as sa

from labelkit.errors import LabelkitError
from labelkit.pay.ledger import day_bounds, earnings, week_bounds
from labelkit.pay.rates import pay_rates
from labelkit.store.tables import annotations, annotators

DEFAULT_DAILY_GOAL = 100
STREAK_HORIZON_DAYS = 366  # a streak longer than this shows as this
MEDIAN_SAMPLE = 1000  # the project's newest answers the median item time is taken from


@dataclass
class Day:
    answers_today: int
    daily_goal: int
    streak_days: int  # days in a row the goal was reached, up to today (or yesterday)
    active_seconds_today: float
    earned_today: float
    earned_week: float
    currency: str
    hourly_rate_week: float | None
    median_item_seconds: float | None  # on this project, everyone's newest answers
    paid: bool = False  # the project pays (a rate is set): without, money is not shown

    def to_dict(self) -> dict:
        return asdict(self)


def daily_goal(project, annotator: str) -> int:
    """Their own goal, else the project's (`daily_goal` in project.yaml), else 100."""
    with project.store.reading() as conn:
        goal = conn.execute(
            sa.select(annotators.c.daily_goal).where(annotators.c.name == annotator)
        ).scalar()
    return int(goal or project.settings.get("daily_goal") or DEFAULT_DAILY_GOAL)


def set_daily_goal(project, annotator: str, goal: int | None) -> None:
    """Set someone's goal (answers a day); None goes back to the project's."""
    if goal is not None and not (isinstance(goal, int) and 1 <= goal <= 100_000):
        raise LabelkitError(f"a daily goal is a whole number from 1 to 100000, got {goal!r}")
    annotator_id = project.store.annotator_id(annotator)
    with project.store.writing() as conn:
        conn.execute(
            annotators.update().where(annotators.c.id == annotator_id).values(daily_goal=goal)
        )


def answers_per_day(project, annotator: str, since: datetime) -> dict:
    """{date: items first answered that day} for one annotator, since `since` (UTC)."""
    query = (
        sa.select(annotations.c.item_id, annotations.c.created_at)
        .join(annotators, annotators.c.id == annotations.c.annotator_id)
        .where(
            annotators.c.name == annotator,
            annotations.c.status == "submitted",
        )
        .order_by(annotations.c.id)
    )
    first: dict[int, datetime] = {}
    with project.store.reading() as conn:
        # SQLite keeps naive UTC text; PostgreSQL compares real instants.
        naive = conn.dialect.name == "sqlite"
        query = query.where(
            annotations.c.created_at >= (since.replace(tzinfo=None) if naive else since)
        )
        for item_id, moment in conn.execute(query):
            first.setdefault(item_id, moment)
    per_day: dict = {}
    for moment in first.values():
        day = (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()
        per_day[day] = per_day.get(day, 0) + 1
    return per_day


def median_item_seconds(project) -> float | None:
    query = (
        sa.select(annotations.c.duration_ms)
        .where(annotations.c.status == "submitted", annotations.c.duration_ms.is_not(None))
        .order_by(annotations.c.id.desc())
        .limit(MEDIAN_SAMPLE)
    )
    with project.store.reading() as conn:
        durations = conn.execute(query).scalars().all()
    return median(durations) / 1000 if durations else None


def annotator_day(project, annotator: str, now: datetime | None = None) -> Day:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    today = now.date()
    goal = daily_goal(project, annotator)
    # An answer first given before the horizon but edited inside it would count on the edit's
    # day; a streak is a motivation figure, not a payroll, so the bounded scan is worth it.
    horizon = datetime(today.year, today.month, today.day, tzinfo=UTC)
    per_day = answers_per_day(project, annotator, horizon - timedelta(days=STREAK_HORIZON_DAYS))

    streak, day = 0, today if per_day.get(today, 0) >= goal else today - timedelta(days=1)
    while per_day.get(day, 0) >= goal and streak < STREAK_HORIZON_DAYS:
        streak, day = streak + 1, day - timedelta(days=1)

    rates = pay_rates(project)
    iso = today.isocalendar()
    today_money = earnings(project, *day_bounds(today), annotator=annotator).get(annotator)
    week_money = earnings(
        project, *week_bounds(f"{iso.year}-W{iso.week:02d}"), annotator=annotator
    ).get(annotator)
    return Day(
        answers_today=per_day.get(today, 0),
        daily_goal=goal,
        streak_days=streak,
        active_seconds_today=today_money.active_seconds if today_money else 0.0,
        earned_today=today_money.amount if today_money else 0.0,
        earned_week=week_money.amount if week_money else 0.0,
        currency=rates.currency,
        hourly_rate_week=week_money.hourly_rate if week_money else None,
        median_item_seconds=median_item_seconds(project),
        paid=rates.pays,
    )
