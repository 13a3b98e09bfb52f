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
from labelkit.team.accounts import Accounts
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
        self._accounts = Accounts(project.store)
        self.link_hash: str | None = None  # set by the served app: the link's token hash
        self.daily_goal = daily_goal
        self.history = project.store.answered_items(self.annotator_id)
        self.position: int | None = None  # index into history while editing, else None
        self.shown: Shown | None = None
        self.leased: int | None = None  # the newest item, reserved for us until lease_until
        self.lease_until: float | None = None  # epoch seconds
        self._renewed_at = 0.0
        self.task = task_payload(project.schema, annotator)

    # ------------------------------------------------------------------ what is shown

    def start(self) -> dict | None:
        """Show the newest item (the next one to label, leased to us); None when all is done."""
        return self._show_next(self.project.next_item(self.annotator))

    def _show_next(self, item: Item | None) -> dict | None:
        self.position = None
        self.leased = None if item is None else item.id
        self.lease_until = None if item is None else item.lease_until
        self._renewed_at = time.monotonic()
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
        if time.monotonic() - self._renewed_at < self.project.lease_seconds / 4:
            return self.lease_until
        self.lease_until = self.project.renew_lease(self.leased, self.annotator)
        self._renewed_at = time.monotonic()
        return self.lease_until

    def progress(self) -> dict:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        mine = self.project.store.annotator_counts(self.annotator_id, since=midnight)
        position = "new"
        if self.position is not None:
            position = f"editing {self.position + 1} of {len(self.history)}"
        return {
            **mine,
            # Not project.progress(): its full count takes ~1 s at 1M items, on every submit.
            "remaining": self.project.store.remaining(self.project.overlap),
            "daily_goal": self.daily_goal,
            "position": position,
            "lease_until": self.lease_until,
        }

    # ------------------------------------------------------------------ actions

    def _check(self, token) -> Shown:
        self._ensure_active()
        if self.shown is None or token != self.shown.token:
            raise StaleAction("this item is no longer shown")
        return self.shown

    def _record(self, shown: Shown, client_key, **what) -> dict | None:
        """Save, then show the next item (committed together; the lease passes on)."""
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
        return self._show_next(following)

    def submit(self, token, client_key, answer) -> dict | None:
        """Validate and save the answer; return the next item to show (None: all done)."""
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
        if self.shown is not None:  # from the all-done screen there is no token
            self._check(token)
        self.renew()
        start = len(self.history) if self.position is None else self.position
        if start == 0:
            raise LabelkitError("there is no earlier item to go back to")
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
        return self.start()


def _client_key(value) -> str:
    if not isinstance(value, str) or not 8 <= len(value) <= 64:
        raise LabelkitError("invalid client key")
    return value


def _reason(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelkitError("say why (a short reason)")
    return value.strip()[:MAX_REASON_CHARS]
