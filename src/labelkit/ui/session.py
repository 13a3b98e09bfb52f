"""The annotator's session: one item at a time, with back, skip, escalate and report.

It knows the project and who is labeling (decided by the kernel, never by the browser), and
turns actions into store writes. Each action is committed before the next item is chosen.
The widget only relays actions and shows what the session returns.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from labelkit.errors import LabelkitError
from labelkit.project import Project
from labelkit.store import Item
from labelkit.ui.render import item_payload, task_payload

MAX_REASON_CHARS = 2_000


class StaleAction(LabelkitError):
    """An action for an item that is no longer shown (a double press, an old tab)."""


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
        self.daily_goal = daily_goal
        self.history = project.store.answered_items(self.annotator_id)
        self.position: int | None = None  # index into history while editing, else None
        self.shown: Shown | None = None
        self.task = task_payload(project.schema, annotator)

    # ------------------------------------------------------------------ what is shown

    def start(self) -> dict | None:
        """Show the newest item (the next one to label); None when all is done."""
        self.position = None
        item = self.project.store.next_item(self.annotator_id, self.project.overlap)
        return self._show(item, answer=None, editing=False)

    def _show(self, item: Item | None, answer: dict | None, editing: bool) -> dict | None:
        if item is None:
            self.shown = None
            return None
        self.shown = Shown(item, secrets.token_urlsafe(12), time.monotonic(), editing)
        return item_payload(self.project.schema, item, self.shown.token, answer, editing)

    def progress(self) -> dict:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        mine = self.project.store.annotator_counts(self.annotator_id, since=midnight)
        totals = self.project.progress()
        position = "new"
        if self.position is not None:
            position = f"editing {self.position + 1} of {len(self.history)}"
        return {
            **mine,
            "remaining": totals["items"] - totals["complete"],
            "daily_goal": self.daily_goal,
            "position": position,
        }

    # ------------------------------------------------------------------ actions

    def _check(self, token) -> Shown:
        if self.shown is None or token != self.shown.token:
            raise StaleAction("this item is no longer shown")
        return self.shown

    def _record(self, shown: Shown, client_key, **what) -> None:
        duration_ms = int((time.monotonic() - shown.since) * 1000)
        annotation = self.project.submit(
            shown.item,
            annotator=self.annotator,
            client_key=_client_key(client_key),
            duration_ms=duration_ms,
            **what,
        )
        if annotation.created and shown.item.id not in self.history:
            self.history.append(shown.item.id)

    def submit(self, token, client_key, answer) -> dict | None:
        """Validate and save the answer; return the next item to show (None: all done)."""
        shown = self._check(token)
        self._record(shown, client_key, answer=answer)
        return self.start()

    def skip(self, token, client_key) -> dict | None:
        self._record(self._check(token), client_key, status="skipped")
        return self.start()

    def escalate(self, token, client_key, reason) -> dict | None:
        self._record(self._check(token), client_key, status="escalated", comment=_reason(reason))
        return self.start()

    def report(self, token, client_key, reason) -> dict | None:
        self._record(self._check(token), client_key, status="reported", comment=_reason(reason))
        return self.start()

    def back(self, token) -> dict | None:
        """Show the item answered before the current one, with my latest answer."""
        if self.shown is not None:  # from the all-done screen there is no token
            self._check(token)
        start = len(self.history) if self.position is None else self.position
        if start == 0:
            raise LabelkitError("there is no earlier item to go back to")
        self.position = start - 1
        item = self.project.store.item(self.history[self.position])
        latest = self.project.store.latest(item.id, self.annotator_id)
        answer = latest[1] if latest and latest[1] is not None else {}
        return self._show(item, answer=answer, editing=True)

    def forward(self, token) -> dict | None:
        """Leave the edited item unchanged and return to the newest item."""
        self._check(token)
        return self.start()


def _client_key(value) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 64:
        raise LabelkitError("invalid client key")
    return value


def _reason(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelkitError("say why (a short reason)")
    return value.strip()[:MAX_REASON_CHARS]
