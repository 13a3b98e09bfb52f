"""LabelWidget: the anywidget that shows a LabelSession (see widgets/PROTOCOL.md).

Traits flow one way, kernel to browser. Browser state updates are dropped (`set_state`), so a
forged widget message cannot change who labels, the item, or anything else; actions arrive as
custom messages, are checked, and are answered with an ack once committed.
"""

from __future__ import annotations

import logging
from importlib import resources

import anywidget
import traitlets

from labelkit.errors import LabelkitError
from labelkit.i18n import error_text
from labelkit.team.accounts import REPLACED_LINK_MESSAGE, AccessDenied
from labelkit.ui.session import LabelSession, StaleAction

log = logging.getLogger("labelkit.ui")

DEFAULT_KEYMAP = {
    "submit": "Enter",
    "back": "Backspace",
    "forward": "Shift+Backspace",
    "skip": "s",
    "escalate": "e",
    "report": "r",
    "guidelines": "g",
    "help": "?",
    "reveal": "v",
    "diff": "d",
    "zoom": "z",
    "choose_a": "a",
    "choose_b": "b",
    "tie": "t",
    "level": "l",  # the "my level" panel: level, gold accuracy, exams, history
    "leave_exam": "q",  # leave a running exam (its attempt resumes next time)
}
ACTIONS = ("submit", "skip", "escalate", "report", "back", "forward")
# Actions that change what is around the item, not the item: answered with an ack too.
SETTINGS_ACTIONS = ("set_goal", "set_opt_outs", "resume")
# Exams and training (labelkit.gold): start one, leave it, refresh the annotator's standing.
EXAM_ACTIONS = ("exam_start", "exam_leave", "standing")
HEARTBEAT = "heartbeat"  # the annotator is active: no ack, never blocked, never an error shown
_WIDGETS = resources.files("labelkit.widgets")


class LabelWidget(anywidget.AnyWidget):
    _esm = (_WIDGETS / "label.js").read_text(encoding="utf-8")
    _css = (_WIDGETS / "label.css").read_text(encoding="utf-8")

    task = traitlets.Dict().tag(sync=True)
    keymap = traitlets.Dict().tag(sync=True)
    item = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    state = traitlets.Unicode("loading").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    # The app's own text in the annotator's language (labelkit.i18n): key -> string.
    strings = traitlets.Dict().tag(sync=True)
    locale = traitlets.Unicode("en").tag(sync=True)
    day = traitlets.Dict().tag(sync=True)  # pay.day.Day figures (see ui/day_panel.py)
    lease = traitlets.Dict().tag(sync=True)  # {"state": held|expired|none, "left": seconds}
    wellbeing = traitlets.Dict().tag(sync=True)  # support link, categories, opt-outs
    pause = traitlets.Dict().tag(sync=True)  # a break proposed: {"reason": hour|day|streak}
    # Level, status, gold figures, next level's requirement, open exams, history (gold.status).
    standing = traitlets.Dict().tag(sync=True)
    exam = traitlets.Dict().tag(sync=True)  # the running exam: {name, training, answered, total}
    feedback = traitlets.Dict().tag(sync=True)  # training: {score, explanation} of the last answer
    exam_result = traitlets.Dict().tag(sync=True)  # the last finished attempt's result

    def __init__(self, session: LabelSession, keymap: dict | None = None, **kwargs):
        unknown = set(keymap or {}) - set(DEFAULT_KEYMAP)
        if unknown:
            raise LabelkitError(
                f"unknown key map actions {sorted(unknown)}; known: {list(DEFAULT_KEYMAP)}"
            )
        super().__init__(**kwargs)
        self.session = session
        self.task = session.task
        self.keymap = DEFAULT_KEYMAP | dict(keymap or {})
        self.strings = session.strings
        self.locale = session.locale
        self.wellbeing = session.wellbeing_info()
        self.day = session.day.refresh()
        self.standing = session.standing()
        self.on_msg(self._on_action)
        self._show(session.start)

    def set_state(self, sync_data):
        # Only the kernel sets traits. What the browser sends as state is ignored.
        if sync_data:
            log.warning("ignored browser state update for %s", sorted(sync_data))

    # ------------------------------------------------------------------ actions

    def _on_action(self, _widget, content, _buffers):
        action = content.get("action") if isinstance(content, dict) else None
        if action == HEARTBEAT:
            self._heartbeat()
            return
        if action not in ACTIONS + SETTINGS_ACTIONS + EXAM_ACTIONS:
            log.warning("ignored unknown widget message %r", str(content)[:200])
            return
        client_key = content.get("client_key")
        if self.busy:  # one action at a time; the browser waits for the ack
            self._ack(client_key, False, self.session.t("error.busy"))
            return
        self.busy = True
        try:
            session, token = self.session, content.get("token")
            calls = {
                "submit": lambda: self._exam_done(
                    session.submit(token, client_key, content.get("answer"))
                ),
                "skip": lambda: session.skip(token, client_key),
                "escalate": lambda: session.escalate(token, client_key, content.get("reason")),
                "report": lambda: session.report(token, client_key, content.get("reason")),
                "back": lambda: session.back(token),
                "forward": lambda: session.forward(token),
                "exam_start": lambda: self._exam_started(content.get("name")),
                "exam_leave": self._exam_left,
            }
            if action in SETTINGS_ACTIONS:
                self._apply(action, content)
            elif action == "standing":
                self.standing = session.standing()
            else:
                notice = {"escalate": "escalated", "report": "reported", "skip": "skipped"}
                key = notice.get(action)
                self._show(calls[action], notice=session.t(f"notice.{key}") if key else "")
            self._ack(client_key, True, "")
            self._refresh_day()
        except AccessDenied as exc:  # suspended, or the link replaced: this page is done
            text = self._denied_text(exc)
            with self.hold_sync():
                self.item, self.state, self.error = None, "error", text
            self._ack(client_key, False, text)
        except StaleAction as exc:
            self._ack(client_key, False, self._error_text(exc))  # a double press: nothing to show
        except LabelkitError as exc:
            text = self._error_text(exc)
            self.error = text
            self._ack(client_key, False, text)
        except Exception as exc:  # shown, not swallowed: the annotator must know it failed
            log.exception("labelkit action %s failed", action)
            self.error = self.session.t("error.unexpected", error=str(exc))
            self._ack(client_key, False, self.error)
        finally:
            self.busy = False

    def _apply(self, action: str, content: dict) -> None:
        """An action that changes what surrounds the item (the item stays)."""
        session = self.session
        if action == "set_goal":
            self.day = dict(session.set_goal(content.get("goal")))
            self.notice = session.t("notice.goal_set", goal=self.day.get("daily_goal"))
        elif action == "set_opt_outs":
            chosen = session.set_opt_outs(content.get("categories"))
            self.wellbeing = self.wellbeing | {"opt_outs": chosen}
            self.notice = session.t("notice.opt_outs_saved")
        else:  # resume: the break screen is left
            session.resume()
            self.pause = {}
        self.error = ""

    def _exam_started(self, name) -> dict:
        shown = self.session.exam_start(name)
        self.exam_result = {}
        return shown

    def _exam_left(self) -> dict | None:
        shown = self.session.exam_leave()
        self.standing = self.session.standing()  # the exam left shows as "in progress"
        return shown

    def _exam_done(self, shown):
        """A submit that finished an exam returned its result: show it, then the work."""
        session = self.session
        if shown is None or shown is not session.exam_result:
            return shown
        with self.hold_sync():
            self.exam_result = dict(shown)
            self.standing = session.standing()
        return session.start()

    def _heartbeat(self) -> None:
        if self.busy:
            return  # an action is being saved: it renews the lease anyway
        try:
            self.lease = self.session.heartbeat()
        except AccessDenied as exc:
            with self.hold_sync():
                self.item, self.state, self.error = None, "error", self._denied_text(exc)
        except Exception:  # a heartbeat is best effort: the next action reports a real failure
            log.exception("labelkit heartbeat failed")

    def _refresh_day(self) -> None:
        """After the ack (off the submit's path): the day panel, fully every so often."""
        panel = self.session.day
        self.day = dict(panel.refresh() if panel.due() else panel.figures)

    def _error_text(self, exc: LabelkitError) -> str:
        # In the annotator's language when the error carries a Message (a refused action, an
        # invalid answer, an exam refusal); other errors keep their own English words.
        return error_text(exc, self.session.locale)

    def _denied_text(self, exc: AccessDenied) -> str:
        # A link replaced while the page was open is a bad_token with its own words.
        reason = "replaced" if str(exc) == REPLACED_LINK_MESSAGE else exc.reason
        return self.session.t(f"access.{reason}.text", name=exc.name or "")

    def _show(self, next_item, notice: str = "") -> None:
        item = next_item()  # commits the action first; raises before anything is shown
        progress = self.session.progress()
        # One update message: the browser sees the new item and `busy` false together, so
        # the keys work the moment the item is visible (no window where they are dropped).
        with self.hold_sync():
            self.error = ""
            self.item = item
            self.progress = progress
            self.state = "labeling" if item is not None else "done"
            if self.session.exam_run is not None:
                self.state = "exam"
            self.exam = self.session.exam_progress or {}
            self.feedback = self.session.exam_feedback or {}
            self.notice = notice
            # The day as the action just advanced it (the full refresh comes after the ack):
            # a screen showing today's count never lags the item's.
            self.day = dict(self.session.day.figures)
            self.lease = self.session.lease()
            self.pause = dict(self.session.pause)
            self.busy = False

    def _ack(self, client_key, ok: bool, error: str) -> None:
        self.send({"type": "ack", "client_key": client_key, "ok": ok, "error": error})
