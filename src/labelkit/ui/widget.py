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
from labelkit.team.accounts import AccessDenied
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
}
ACTIONS = ("submit", "skip", "escalate", "report", "back", "forward")
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
        self.on_msg(self._on_action)
        self._show(session.start)

    def set_state(self, sync_data):
        # Only the kernel sets traits. What the browser sends as state is ignored.
        if sync_data:
            log.warning("ignored browser state update for %s", sorted(sync_data))

    # ------------------------------------------------------------------ actions

    def _on_action(self, _widget, content, _buffers):
        if not isinstance(content, dict) or content.get("action") not in ACTIONS:
            log.warning("ignored unknown widget message %r", str(content)[:200])
            return
        action = content["action"]
        client_key = content.get("client_key")
        if self.busy:  # one action at a time; the browser waits for the ack
            self._ack(client_key, False, "still saving the previous action")
            return
        self.busy = True
        try:
            session, token = self.session, content.get("token")
            calls = {
                "submit": lambda: session.submit(token, client_key, content.get("answer")),
                "skip": lambda: session.skip(token, client_key),
                "escalate": lambda: session.escalate(token, client_key, content.get("reason")),
                "report": lambda: session.report(token, client_key, content.get("reason")),
                "back": lambda: session.back(token),
                "forward": lambda: session.forward(token),
            }
            notice = {"escalate": "Escalated.", "report": "Reported.", "skip": "Skipped."}
            self._show(calls[action], notice=notice.get(action, ""))
            self._ack(client_key, True, "")
        except AccessDenied as exc:  # suspended, or the link replaced: this page is done
            with self.hold_sync():
                self.item, self.state, self.error = None, "error", str(exc)
            self._ack(client_key, False, str(exc))
        except StaleAction as exc:
            self._ack(client_key, False, str(exc))  # a double press: nothing to show
        except LabelkitError as exc:
            self.error = str(exc)
            self._ack(client_key, False, str(exc))
        except Exception as exc:  # shown, not swallowed: the annotator must know it failed
            log.exception("labelkit action %s failed", action)
            self.error = f"Something went wrong, your last action was not saved: {exc}"
            self._ack(client_key, False, self.error)
        finally:
            self.busy = False

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
            self.notice = notice
            self.busy = False

    def _ack(self, client_key, ok: bool, error: str) -> None:
        self.send({"type": "ack", "client_key": client_key, "ok": ok, "error": error})
