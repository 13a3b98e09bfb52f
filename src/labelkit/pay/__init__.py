"""Pay and the annotator's day: rates per project and level, earnings derived from the
answers, daily goals and streaks."""

from labelkit.pay.day import Day, annotator_day, daily_goal, set_daily_goal
from labelkit.pay.ledger import Earnings, day_bounds, earnings, payroll, week_bounds
from labelkit.pay.rates import LevelRates, PayRates, configure_pay, pay_rates

__all__ = [
    "Day",
    "Earnings",
    "LevelRates",
    "PayRates",
    "annotator_day",
    "configure_pay",
    "daily_goal",
    "day_bounds",
    "earnings",
    "pay_rates",
    "payroll",
    "set_daily_goal",
    "week_bounds",
]
