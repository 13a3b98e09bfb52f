"""The annotator's session: one item at a time, with back, skip, escalate and report.

It knows the project and who is labeling (decided by the kernel, never by the browser), and
turns actions into store writes. Each action is committed before the next item is chosen.
The widget only relays actions and shows what the session returns.

Around the item: the annotator's language (labelkit.i18n), their day (ui/day_panel.py), the
lease on the newest item (kept alive by the page's heartbeat) and wellbeing (labelkit.wellbeing:
opt-outs, exposure limits and the break they lead to).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from labelkit import wellbeing
from labelkit.errors import LabelkitError
from labelkit.gold import exams as gold_exams
from labelkit.gold.exams import ExamRun
from labelkit.gold.status import annotator_status
from labelkit.i18n import Message, catalogue, locale_for, translate
from labelkit.project import Project
from labelkit.store import Item
from labelkit.team.accounts import Accounts
from labelkit.ui.day_panel import DayPanel
from labelkit.ui.render import item_payload, task_payload

MAX_REASON_CHARS = 2_000
_UNCOUNTED = object()


class SessionError(LabelkitError):
    """A refused action: its catalogue text `key` (labelkit.i18n), so the page says it in the
    annotator's language; str() is the English text."""

    def __init__(self, key: str, **values):
        super().__init__(Message(key, values))


class StaleAction(SessionError):
    """An action for an item that is no longer shown (a double press, an old tab)."""

    def __init__(self):
        super().__init__("error.stale")


@dataclass
class Shown:
    item: Item
    token: str
    since: float  # monotonic time the item was shown: the server-side duration
    editing: bool


class LabelSession:
    def __init__(self, project: Project, annotator: str, *, daily_goal: int = 100):
        self.project = project
        self.annotator = annotator
        self.annotator_id = project.store.annotator_id(annotator)
        self._accounts = Accounts(project.store)
        self.link_hash: str | None = None  # set by the served app: the link's token hash
        self.daily_goal = daily_goal
        self.history = project.store.answered_items(self.annotator_id)
        self.position: int | None = None  # index into history while editing, else None
        self.shown: Shown | None = None
        self.leased: int | None = None  # the newest item, reserved for us until lease_until
        self.lease_until: float | None = None  # epoch seconds
        self._renewed_at = 0.0
        self.locale = locale_for(project, annotator)
        self.strings = catalogue(self.locale)
        self.task = task_payload(project.schema, annotator)
        self.day = DayPanel(project, annotator)
        self.limits = project.store.wellbeing or wellbeing.Limits()
        self.blocked: str | None = None  # why no sensitive item is served now (an exposure limit)
        self.pause: dict = {}  # the break proposed to the annotator: {"reason": ...}; {} = none
        self.exam_run: ExamRun | None = None  # an exam or training in progress (labelkit.gold)
        self.exam_feedback: dict | None = None  # training: score + explanation of the last answer
        self.exam_result: dict | None = None  # the last finished attempt's result

    def t(self, key: str, **values) -> str:
        """The app's text `key` in the annotator's language."""
        return translate(self.locale, key, **values)

    # ------------------------------------------------------------------ what is shown

    def start(self) -> dict | None:
        """Show the newest item (the next one to label, leased to us); None when all is done."""
        shown = self._show_next(self.project.next_item(self.annotator))
        self._check_exposure()
        return shown

    def _show_next(self, item: Item | None) -> dict | None:
        self.position = None
        self.leased = None if item is None else item.id
        self.lease_until = None if item is None else item.lease_until
        self._renewed_at = self.project.store.clock()  # the leases' clock (faked in tests)
        return self._show(item, answer=None, editing=False)

    def _show(self, item: Item | None, answer: dict | None, editing: bool) -> dict | None:
        if item is None:
            self.shown = None
            return None
        self.shown = Shown(item, secrets.token_urlsafe(12), time.monotonic(), editing)
        payload = item_payload(self.project.schema, item, self.shown.token, answer, editing)
        return payload | {"lease_until": None if editing else self.lease_until}

    def renew(self) -> float | None:
        """The annotator is active: keep the newest item reserved. Writes at most once per
        quarter lease, so calling it on every key press or heartbeat costs nothing."""
        if self.leased is None:
            return None
        if self.project.store.clock() - self._renewed_at < self.project.lease_seconds / 4:
            return self.lease_until
        self.lease_until = self.project.renew_lease(self.leased, self.annotator)
        self._renewed_at = self.project.store.clock()
        return self.lease_until

    def lease(self) -> dict:
        """The newest item's reservation: {"state": "held" | "expired" | "none", "left":
        seconds}. Seconds, not a date: the page counts down on its own clock."""
        if self.leased is None or (self.shown is not None and self.shown.editing):
            return {"state": "none", "left": None}
        left = None if self.lease_until is None else self.lease_until - self.project.store.clock()
        if left is None or left <= 0:
            return {"state": "expired", "left": 0}
        return {"state": "held", "left": round(left)}

    def heartbeat(self) -> dict:
        """The page says the annotator is active: renew the lease (rate limited) and say
        where it stands."""
        self._ensure_active()
        if self.leased is not None and self.lease_until is not None:
            renewed = self.renew()
            if renewed is None:
                self.lease_until = None  # ran out: it may be someone else's now
        return self.lease()

    # ------------------------------------------------------------------ the day and wellbeing

    def set_goal(self, goal) -> dict:
        """The annotator's own daily goal; returns the day panel's figures."""
        self._ensure_active()
        if isinstance(goal, bool) or not isinstance(goal, int | str):
            raise SessionError("error.goal")
        try:
            return self.day.set_goal(goal)
        except LabelkitError:
            raise SessionError("error.goal") from None

    def set_opt_outs(self, categories) -> list[str]:
        """The content-warning categories the annotator is never served from the next item
        on (their choice, in the page)."""
        self._ensure_active()
        try:
            return wellbeing.set_opt_outs(self.project, self.annotator, categories)
        except LabelkitError:
            raise SessionError("error.opt_outs") from None

    def resume(self) -> None:
        """The annotator read the break screen and goes on (with non-sensitive items)."""
        self._ensure_active()
        self.pause = {}
        if self.shown is not None:
            self.shown.since = time.monotonic()  # the break is not time spent on the item

    def wellbeing_info(self) -> dict:
        """What the page shows about wellbeing: the support link (and whether it shows on
        every screen), the categories one may opt out of, and one's opt-outs."""
        limits = self.limits
        moderation = self.project.schema.kind == "moderation"
        return {
            "support_link": limits.support_link,
            "support_text": limits.support_text,
            "show_support": moderation or wellbeing.has_sensitive_items(self.project),
            "categories": wellbeing.known_categories(self.project),
            "opt_outs": wellbeing.opt_outs(self.project, self.annotator),
            "limits": {
                "per_hour": limits.sensitive_per_hour,
                "per_day": limits.sensitive_per_day,
                "streak": limits.streak_break,
            },
        }

    def _check_exposure(self) -> None:
        """After an action: propose a break when an exposure limit was just reached."""
        if not self.limits.active:
            return
        store = self.project.store
        reason = store.exposure_found.pop(self.annotator_id, _UNCOUNTED)  # counted choosing it
        if reason is _UNCOUNTED:
            with store.reading() as conn:
                reason = self.limits.blocked(conn, self.annotator_id)
        if reason is not None and reason != self.blocked:
            self.pause = {"reason": reason, "more": self.shown is not None}
        self.blocked = reason

    def progress(self) -> dict:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        mine = self.project.store.annotator_counts(self.annotator_id, since=midnight)
        position = "new"
        if self.position is not None:
            position = self.t("progress.editing", n=self.position + 1, total=len(self.history))
        earlier = len(self.history) if self.position is None else self.position
        return {
            **mine,
            # Not project.progress(): its full count takes ~1 s at 1M items, on every submit.
            "remaining": self.project.remaining(),
            "daily_goal": self.daily_goal,
            "position": position,
            "can_back": earlier > 0,  # an item answered before the one shown: Back works
            "lease_until": self.lease_until,
        }

    # ------------------------------------------------------------------ actions

    def _check(self, token) -> Shown:
        self._ensure_active()
        if self.shown is None or token != self.shown.token:
            raise StaleAction()
        return self.shown

    def _record(self, shown: Shown, client_key, **what) -> dict | None:
        """Save, then show the next item (committed together; the lease passes on)."""
        self._not_in_exam()
        duration_ms = int((time.monotonic() - shown.since) * 1000)
        annotation, following = self.project.submit_and_next(
            shown.item,
            annotator=self.annotator,
            client_key=_client_key(client_key),
            duration_ms=duration_ms,
            **what,
        )
        if annotation.created and shown.item.id not in self.history:
            self.history.append(shown.item.id)
        if annotation.created:
            status = annotation.status
            wellbeing.flag_from_answer(self.project, shown.item.id, status, annotation.answer)
            new_answer = status == "submitted" and annotation.version == 1
            self.day.count(duration_ms, new_answer)
        shown = self._show_next(following)
        self._check_exposure()
        return shown

    def submit(self, token, client_key, answer) -> dict | None:
        """Validate and save the answer; return the next item to show (None: all done).
        During an exam: the next exam item, or the attempt's result dict (see exam_start)."""
        if self.exam_run is not None:
            return self._exam_answer(self._check(token), answer)
        return self._record(self._check(token), client_key, answer=answer)

    def skip(self, token, client_key) -> dict | None:
        return self._record(self._check(token), client_key, status="skipped")

    def escalate(self, token, client_key, reason) -> dict | None:
        return self._record(
            self._check(token), client_key, status="escalated", comment=_reason(reason)
        )

    def report(self, token, client_key, reason) -> dict | None:
        return self._record(
            self._check(token), client_key, status="reported", comment=_reason(reason)
        )

    def back(self, token) -> dict | None:
        """Show the item answered before the current one, with my latest answer."""
        self._ensure_active()
        self._not_in_exam()
        if self.shown is not None:  # from the all-done screen there is no token
            self._check(token)
        self.renew()
        start = len(self.history) if self.position is None else self.position
        if start == 0:
            raise SessionError("error.no_earlier")
        self.position = start - 1
        item = self.project.store.item(self.history[self.position])
        latest = self.project.store.latest(item.id, self.annotator_id)
        answer = latest[1] if latest and latest[1] is not None else {}
        return self._show(item, answer=answer, editing=True)

    def _ensure_active(self) -> None:
        # Every action asks the store again (one primary-key read), so a suspension by the
        # lead ends the annotator's next action, whatever their page still shows.
        self._accounts.ensure_active(self.annotator_id, self.link_hash)

    def forward(self, token) -> dict | None:
        """Leave the edited item unchanged and return to the newest item."""
        self._check(token)
        self._not_in_exam()
        return self.start()

    # ------------------------------------------------------------------ exams and training

    def exams(self) -> list[dict]:
        """The exams this annotator may take now (labelkit.gold.exams.available)."""
        return gold_exams.available(self.project, self.annotator_id, self.locale)

    def standing(self) -> dict:
        """Level, status, gold figures, next level's requirement, open exams, history: what
        the annotator sees, in their language (gold figures lag their newest answers;
        labelkit.gold.status)."""
        return annotator_status(
            self.project, self.annotator, for_annotator=True, locale=self.locale
        )

    def exam_start(self, name) -> dict:
        """Start (or resume) exam `name`: its first unanswered item, shaped as any item.
        Answers then go through `submit`, which returns the next exam item or, after the
        last, the result dict ({exam, score, passed, pass_rate, level, status, ...})."""
        self._ensure_active()
        if not isinstance(name, str):
            raise SessionError("error.exam_name")
        self.exam_run = gold_exams.start(self.project, self.annotator_id, name)
        self.exam_feedback = self.exam_result = None
        shown = self._exam_item()
        if shown is None:
            self.exam_run = None
            raise SessionError("error.exam_empty", name=name)
        return shown

    def exam_leave(self) -> dict | None:
        """Leave the exam (its attempt stays open and resumes next time); the newest item."""
        self._ensure_active()
        self.exam_run = self.exam_feedback = None
        return self.start()

    @property
    def exam_progress(self) -> dict | None:
        """{name, training, answered, total} of the running exam, or None."""
        run = self.exam_run
        if run is None:
            return None
        return {"name": run.exam.name, "training": run.exam.training, **run.progress}

    def _exam_item(self) -> dict | None:
        item_id = self.exam_run.next_item_id
        if item_id is None:
            return None
        item = self.project.store.item(item_id)
        self.shown = Shown(item, secrets.token_urlsafe(12), time.monotonic(), False)
        payload = item_payload(self.project.schema, item, self.shown.token, None, False)
        return payload | {"lease_until": None}

    def _exam_answer(self, shown: Shown, answer) -> dict | None:
        duration_ms = int((time.monotonic() - shown.since) * 1000)
        outcome = gold_exams.answer(self.project, self.exam_run, shown.item.id, answer, duration_ms)
        self.exam_feedback = outcome["feedback"]
        if outcome["result"] is None:
            return self._exam_item()
        self.exam_result, self.exam_run, self.shown = outcome["result"], None, None
        return self.exam_result

    def _not_in_exam(self) -> None:
        if self.exam_run is not None:
            raise SessionError("error.in_exam")


def _client_key(value) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 64:
        raise SessionError("error.client_key")
    return value


def _reason(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SessionError("error.reason")
    return value.strip()[:MAX_REASON_CHARS]
