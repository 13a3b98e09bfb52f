"""Review and escalation: verdicts on answers, final answers to escalated items."""

from labelkit.review.queue import MODES, Escalation, Pending, ReviewError, Reviews, Verdict

__all__ = ["MODES", "Escalation", "Pending", "ReviewError", "Reviews", "Verdict"]
