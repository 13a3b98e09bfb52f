"""The annotator's day, as the session header shows it: goal, streak, time, money, median.

pay.day.annotator_day reads the annotator's whole recent history (~45 ms at 2,000 answers a day),
too slow to run inside every submit. So the panel runs it when the session starts, when the
annotator changes their goal, and at most every REFRESH_SECONDS after an action has been
answered (the widget sends it after the next item); in between, each new answer advances the
figures locally (one answer, its active time, its pay at the annotator's level).
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from labelkit.pay.day import annotator_day, set_daily_goal
from labelkit.pay.rates import pay_rates
from labelkit.store.tables import annotators

REFRESH_SECONDS = 30.0


class DayPanel:
    def __init__(self, project, annotator: str):
        self.project, self.annotator = project, annotator
        self.figures: dict = {}
        self._refreshed = float("-inf")
        with project.store.reading() as conn:
            level = conn.execute(
                sa.select(annotators.c.level).where(annotators.c.name == annotator)
            ).scalar()
        rates = pay_rates(project)
        self._rates = rates.for_level(level or 0)
        self._idle_after = rates.idle_after_seconds

    def refresh(self) -> dict:
        self.figures = annotator_day(self.project, self.annotator).to_dict()
        self._refreshed = time.monotonic()
        return self.figures

    def due(self) -> bool:
        return time.monotonic() - self._refreshed >= REFRESH_SECONDS

    def count(self, duration_ms: int | None, new_answer: bool) -> dict:
        """An action was saved: advance the figures until the next refresh."""
        f = self.figures
        if not f:
            return f
        seconds = min((duration_ms or 0) / 1000, self._idle_after)
        pay = seconds / 3600 * self._rates.per_hour
        if new_answer:
            f["answers_today"] += 1
            pay += self._rates.per_answer
        f["active_seconds_today"] += seconds
        f["earned_today"] = round(f["earned_today"] + pay, 4)
        f["earned_week"] = round(f["earned_week"] + pay, 4)
        return f

    def set_goal(self, goal) -> dict:
        """The annotator's own daily goal (checked by pay.day.set_daily_goal)."""
        if isinstance(goal, str) and goal.strip().isdigit():
            goal = int(goal.strip())
        set_daily_goal(self.project, self.annotator, goal)
        return self.refresh()
