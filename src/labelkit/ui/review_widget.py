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
from labelkit.i18n import error_text
from labelkit.team.accounts import REPLACED_LINK_MESSAGE, AccessDenied
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
    # The app's own text in the reviewer's language (labelkit.i18n): key -> string.
    strings = traitlets.Dict().tag(sync=True)
    locale = traitlets.Unicode("en").tag(sync=True)

    def __init__(self, session: ReviewSession, **kwargs):
        super().__init__(**kwargs)
        self.session = session
        self.task = session.task
        self.strings = session.strings
        self.locale = session.locale
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
            self._ack(client_key, False, self.session.t("error.busy"))
            return
        self.busy = True
        try:
            self._act(action, content)
            self._ack(client_key, True, "")
        except AccessDenied as exc:  # suspended, demoted or link replaced: this page is done
            text = self._denied_text(exc)
            with self.hold_sync():
                self.entry, self.state, self.error = None, "error", text
            self._ack(client_key, False, text)
        except StaleReview as exc:  # a double press: nothing to show
            self._ack(client_key, False, error_text(exc, self.session.locale))
        except LabelkitError as exc:
            # In the reviewer's language when the error carries a Message (a refusal, an
            # invalid answer); other errors keep their own English words.
            self.error = error_text(exc, self.session.locale)
            self._ack(client_key, False, self.error)
        except Exception as exc:  # shown, not swallowed
            log.exception("labelkit review action %s failed", action)
            self.error = self.session.t("error.unexpected", error=exc)
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
            notice = "review.notice.rejected" if verdict == "rejected" else "review.notice.accepted"
            self._show(entry, "reviewing", session.t(notice))
            self.error, session.warning = session.warning, ""
        elif action == "resolve":
            entry = session.resolve(token, content.get("answer"), content.get("comment"))
            self._show(entry, "escalations", session.t("review.notice.resolved"))
        elif action == "skip":
            state = "escalations" if session.mode == "escalations" else "reviewing"
            self._show(session.skip(token), state, session.t("notice.skipped"))

    def _denied_text(self, exc: AccessDenied) -> str:
        if exc.message is not None:  # not a reviewer (any more): the session's own words
            return error_text(exc, self.session.locale)
        # Suspended, or a link replaced while the page was open (a bad_token with its words).
        reason = "replaced" if str(exc) == REPLACED_LINK_MESSAGE else exc.reason
        key = f"access.{reason}.text"
        return self.session.t(key, name=exc.name or "") if key in self.session.strings else str(exc)

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
