"""ReviewWidget: the anywidget that shows a ReviewSession (widgets/review.js + review.css).

As with the labeling widget, traits flow one way, kernel to browser, and browser state updates
are dropped: actions arrive as custom messages, are checked by the session, and are answered
with an ack once committed. Messages (browser -> Python), each with a `client_key`:

- {action: "options"}: refresh the mode picker's figures
- {action: "start", mode: "sampled" | "low_agreement" | "annotator", annotator?: name}
- {action: "escalations"}: open the escalation queue
- {action: "verdict", token, verdict: "accepted" | "rejected", comment}
- {action: "resolve", token, answer, comment}
- {action: "skip", token}
- {action: "menu"}: back to the mode picker
"""

from __future__ import annotations

import logging
from importlib import resources

import anywidget
import traitlets

from labelkit.errors import LabelkitError
from labelkit.team.accounts import AccessDenied
from labelkit.ui.review_session import ReviewSession, StaleReview

log = logging.getLogger("labelkit.ui")

ACTIONS = ("options", "start", "escalations", "verdict", "resolve", "skip", "menu")
_WIDGETS = resources.files("labelkit.widgets")


class ReviewWidget(anywidget.AnyWidget):
    _esm = (_WIDGETS / "review.js").read_text(encoding="utf-8")
    _css = (_WIDGETS / "review.css").read_text(encoding="utf-8")

    task = traitlets.Dict().tag(sync=True)
    options = traitlets.Dict().tag(sync=True)
    entry = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    # choose (mode picker) · reviewing · escalations · done (queue empty) · error (fatal)
    state = traitlets.Unicode("choose").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    notice = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)

    def __init__(self, session: ReviewSession, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.task = session.task
        self.options = session.options()
        self.progress = session.progress()
        self.on_msg(self._on_action)

    def set_state(self, sync_data):
        # Only the kernel sets traits. What the browser sends as state is ignored.
        if sync_data:
            log.warning("ignored browser state update for %s", sorted(sync_data))

    def _on_action(self, _widget, content, _buffers):
        if not isinstance(content, dict) or content.get("action") not in ACTIONS:
            log.warning("ignored unknown review message %r", str(content)[:200])
            return
        action, client_key = content["action"], content.get("client_key")
        if self.busy:
            self._ack(client_key, False, "still saving the previous action")
            return
        self.busy = True
        try:
            self._act(action, content)
            self._ack(client_key, True, "")
        except AccessDenied as exc:  # suspended, demoted or link replaced: this page is done
            with self.hold_sync():
                self.entry, self.state, self.error = None, "error", str(exc)
            self._ack(client_key, False, str(exc))
        except StaleReview as exc:
            self._ack(client_key, False, str(exc))  # a double press: nothing to show
        except LabelkitError as exc:
            self.error = str(exc)
            self._ack(client_key, False, str(exc))
        except Exception as exc:  # shown, not swallowed
            log.exception("labelkit review action %s failed", action)
            self.error = f"Something went wrong, your last action was not saved: {exc}"
            self._ack(client_key, False, self.error)
        finally:
            self.busy = False

    def _act(self, action: str, content: dict) -> None:
        session, token = self.session, content.get("token")
        if action == "options":
            self._choose()
        elif action == "menu":
            session.menu()
            self._choose()
        elif action == "start":
            self._show(session.start(content.get("mode"), content.get("annotator")), "reviewing")
        elif action == "escalations":
            self._show(session.start_escalations(), "escalations")
        elif action == "verdict":
            verdict = content.get("verdict")
            entry = session.verdict(token, verdict, content.get("comment"))
            self._show(entry, "reviewing", "Rejected." if verdict == "rejected" else "Accepted.")
            self.error, session.warning = session.warning, ""
        elif action == "resolve":
            entry = session.resolve(token, content.get("answer"), content.get("comment"))
            self._show(entry, "escalations", "Resolved.")
        elif action == "skip":
            state = "escalations" if session.mode == "escalations" else "reviewing"
            self._show(session.skip(token), state, "Skipped.")

    def _choose(self) -> None:
        options = self.session.options()
        with self.hold_sync():
            self.error, self.entry, self.options = "", None, options
            self.progress = self.session.progress()
            self.state, self.notice, self.busy = "choose", "", False

    def _show(self, entry: dict | None, state: str, notice: str = "") -> None:
        progress = self.session.progress()
        # One update: the browser sees the new entry and `busy` false together.
        with self.hold_sync():
            self.error = ""
            self.entry = entry
            self.progress = progress
            self.state = state if entry is not None else "done"
            self.notice = notice
            self.busy = False

    def _ack(self, client_key, ok: bool, error: str) -> None:
        self.send({"type": "ack", "client_key": client_key, "ok": ok, "error": error})
