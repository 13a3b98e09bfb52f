"""The reviewer's session: one answer (or one escalated item) at a time.

Who reviews is decided in the kernel, the same way as for labeling (ui/app.py): from the
access link's token once the project has accounts; only role reviewer or admin may review. The
local user (a notebook, or `labelkit serve` on loopback before any account exists) acts as an
admin. The role is read again on every action, so a demoted or suspended reviewer's next action
fails. The browser names no answer: it echoes the opaque token of what it was shown, and the
session alone decides which answer a verdict is for. Nobody reviews their own answers or
resolves an item they escalated.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from labelkit.i18n import Message, catalogue, locale_for, translate
from labelkit.review.queue import MODES, Pending, ReviewError, Reviews, resolved_items
from labelkit.team.accounts import AccessDenied, Accounts
from labelkit.ui.render import field_payload, metadata_payload, task_payload

REVIEW_ROLES = ("reviewer", "admin")


class StaleReview(ReviewError):
    """An action for an answer or item that is no longer shown (a double press, an old tab)."""


@dataclass
class Shown:
    token: str
    kind: str  # "answer" | "escalation"
    annotation_id: int | None = None
    item_id: int | None = None


class ReviewSession:
    def __init__(
        self,
        project,
        reviewer: str,
        *,
        local: bool = False,
        link_hash: str | None = None,
        seed: int | None = None,
    ):
        self.project = project
        self.reviewer = reviewer
        self.reviewer_id = project.store.annotator_id(reviewer)
        self.local = local  # the local user: acts as an admin, whatever their row says
        self.link_hash = link_hash  # set for a page opened through a link
        self.reviews = Reviews(project)
        self._accounts = Accounts(project.store)
        self.seed = secrets.randbelow(2**31) if seed is None else seed
        self.role = self._ensure_allowed()
        # The app's own words in the reviewer's language (labelkit.i18n); dataset text as is.
        self.locale = locale_for(project, reviewer)
        self.strings = catalogue(self.locale)
        self.task = task_payload(project.schema, reviewer) | {
            "reviewer": reviewer,
            "role": self.role,
            "modes": list(MODES),
        }
        self.mode: str | None = None  # a review mode, or "escalations"
        self.queue: list = []
        self.position = 0
        self.shown: Shown | None = None
        self.counts = {"accepted": 0, "rejected": 0, "skipped": 0, "resolved": 0}
        self.warning = ""  # shown after the action that raised it (e.g. the rules failed)

    # ------------------------------------------------------------------ permission

    def _ensure_allowed(self) -> str:
        """The reviewer's role, or AccessDenied: suspended, link replaced, or not a reviewer."""
        self._accounts.ensure_active(self.reviewer_id, self.link_hash)
        if self.local:
            return "admin"
        role = self._accounts.get(self.reviewer).role
        if role not in REVIEW_ROLES:
            role_name = Message.of(f"review.role.{role}")
            message = Message.of("review.not_reviewer", name=self.reviewer, role=role_name)
            raise AccessDenied("not_reviewer", message, self.reviewer)
        return role

    # ------------------------------------------------------------------ what is offered

    def options(self) -> dict:
        """What the mode picker shows: answers awaiting review, per annotator, escalations."""
        pending = self.reviews.queue("sampled", reviewer=self.reviewer, seed=0)
        per_annotator: dict[str, int] = {}
        for p in pending:
            per_annotator[p.annotator] = per_annotator.get(p.annotator, 0) + 1
        escalations = self._escalations()
        return {
            "pending": len(pending),
            "annotators": [
                {"name": name, "pending": n} for name, n in sorted(per_annotator.items())
            ],
            "escalations": sum(not e.resolved for e in escalations),
            "resolved": sum(e.resolved for e in escalations),
        }

    def progress(self) -> dict:
        return {
            "mode": self.mode,
            "position": min(self.position + 1, len(self.queue)),
            "total": len(self.queue),
            **self.counts,
        }

    # ------------------------------------------------------------------ review queue

    def start(self, mode, annotator=None) -> dict | None:
        """Build the queue for `mode` and show its first answer (None: nothing to review)."""
        self._ensure_allowed()
        if mode not in MODES:
            raise ReviewError(Message.of("review.error.mode", modes=", ".join(MODES)))
        if mode == "annotator":
            if not isinstance(annotator, str) or not annotator.strip():
                raise ReviewError(Message.of("review.error.choose_annotator"))
            if annotator == self.reviewer:
                raise ReviewError(Message.of("review.error.own_answer"))
        else:
            annotator = None
        self.mode = mode
        self.queue = self.reviews.queue(
            mode, reviewer=self.reviewer, annotator=annotator, seed=self.seed
        )
        self.position = 0
        return self._show_answer()

    def verdict(self, token, verdict, comment) -> dict | None:
        """Accept or reject the answer shown; show the next one."""
        shown = self._check(token, "answer")
        if verdict not in ("accepted", "rejected"):
            raise ReviewError(Message.of("review.error.verdict"))
        if comment is not None and not isinstance(comment, str):
            raise ReviewError(Message.of("review.error.comment_text"))
        done = self.reviews.verdict(
            shown.annotation_id, verdict, reviewer=self.reviewer, comment=comment
        )
        self.warning = (
            self.t("review.error.rules_failed", error=done.rules_error) if done.rules_error else ""
        )
        self.counts[verdict] += 1
        self.position += 1
        return self._show_answer()

    def skip(self, token) -> dict | None:
        shown = self._check(token, None)
        self.counts["skipped"] += 1
        self.position += 1
        return self._show_answer() if shown.kind == "answer" else self._show_escalation()

    def _show_answer(self) -> dict | None:
        """The answer at `position`, passing over those that changed since the queue was made
        (reviewed by someone else, edited, withdrawn)."""
        while self.position < len(self.queue):
            pending: Pending = self.queue[self.position]
            answer = self.reviews.answer(pending.annotation_id)
            if answer["current"] and answer["status"] == "submitted" and not answer["verdict"]:
                return self._answer_payload(pending, answer)
            self.position += 1
        self.shown = None
        return None

    def _answer_payload(self, pending: Pending, answer: dict) -> dict:
        item = self.project.store.item(pending.item_id)
        others = [
            _other(a)
            for a in self.reviews.item_answers(item.id)
            if a["annotation_id"] != pending.annotation_id
        ]
        self.shown = Shown(secrets.token_urlsafe(12), "answer", annotation_id=answer["id"])
        return {
            "kind": "answer",
            "token": self.shown.token,
            "item": item.key,
            "fields": self._fields(item),
            "metadata": metadata_payload(item.metadata),  # reviewers and admins only
            "sensitive": bool(item.sensitive),
            "annotator": answer["annotator"],
            "answer": answer["answer"] or {},
            "version": answer["version"],
            "agreement": pending.agreement,
            "others": others,
        }

    # ------------------------------------------------------------------ escalations

    def start_escalations(self) -> dict | None:
        """The escalation queue, unresolved first; show its first item."""
        self._ensure_allowed()
        self.mode = "escalations"
        self.queue = self._escalations()
        self.position = 0
        return self._show_escalation()

    def resolve(self, token, answer, comment) -> dict | None:
        """Give the item shown its final answer (validated); show the next escalation."""
        shown = self._check(token, "escalation")
        if comment is not None and not isinstance(comment, str):
            raise ReviewError(Message.of("review.error.comment_text"))
        self.reviews.resolve(shown.item_id, answer, reviewer=self.reviewer, comment=comment)
        self.counts["resolved"] += 1
        self.position += 1
        return self._show_escalation()

    def _escalations(self):
        # An item one escalated is resolved by someone else.
        return [
            e
            for e in self.reviews.escalations()
            if all(r["annotator"] != self.reviewer for r in e.reasons)
        ]

    def _show_escalation(self) -> dict | None:
        if self.position >= len(self.queue):
            self.shown = None
            return None
        escalation = self.queue[self.position]
        item = self.project.store.item(escalation.item_id)
        answers = [_other(a) for a in self.reviews.item_answers(item.id)]
        resolved = resolved_items(self.project.store, {item.id}).get(item.id)  # fresh
        self.shown = Shown(secrets.token_urlsafe(12), "escalation", item_id=item.id)
        return {
            "kind": "escalation",
            "token": self.shown.token,
            "item": item.key,
            "fields": self._fields(item),
            "metadata": metadata_payload(item.metadata),  # reviewers and admins only
            "sensitive": bool(item.sensitive),
            "reasons": [
                {"annotator": r["annotator"], "reason": r["reason"]} for r in escalation.reasons
            ],
            "answers": [a for a in answers if a["status"] == "submitted"],
            "resolution": None
            if resolved is None
            else {
                "answer": resolved["answer"],
                "reviewer": resolved["reviewer"],
                "comment": resolved["comment"] or "",
            },
        }

    # ------------------------------------------------------------------ shared

    def menu(self) -> None:
        """Back to the mode picker."""
        self._ensure_allowed()
        self.mode, self.queue, self.position, self.shown = None, [], 0, None

    def _check(self, token, kind: str | None) -> Shown:
        self.role = self._ensure_allowed()
        shown = self.shown
        if shown is None or not isinstance(token, str) or token != shown.token:
            raise StaleReview(Message.of("review.error.stale"))
        if kind is not None and shown.kind != kind:
            raise StaleReview(Message.of("review.error.wrong_kind"))
        return shown

    def t(self, key: str, **values) -> str:
        """The catalogue string `key` in the reviewer's language."""
        return translate(self.locale, key, **values)

    def _fields(self, item) -> dict:
        return {
            f.name: field_payload(f.type, item.data.get(f.name)) for f in self.project.schema.fields
        }


def _other(answer: dict) -> dict:
    """An annotator's answer as context for the reviewer (plain data: the browser sets text)."""
    return {
        "annotator": answer["annotator"],
        "status": answer["status"],
        "answer": answer["answer"] or {},
        "comment": answer["comment"] or "",
        "verdict": answer["verdict"],
    }


def review_app(project_path: str | None = None):
    """The review app for the served project (or `project_path`), ready to display; a page
    saying why not when the visitor may not review (no link, wrong link, not a reviewer)."""
    from labelkit.project import Project
    from labelkit.ui.app import (
        PROJECT_VARIABLE,
        access_page,
        page_locale,
        resolve_annotator,
    )
    from labelkit.ui.review_widget import ReviewWidget

    path = project_path or os.environ.get(PROJECT_VARIABLE)
    if not path:
        raise RuntimeError(
            f"no project: run `labelkit serve PATH --app review`, or set {PROJECT_VARIABLE}"
        )
    project = Project.open(path)
    try:
        reviewer, link_hash = resolve_annotator(project, os.environ)
        # No link: a notebook, or loopback before accounts exist (the project's owner).
        session = ReviewSession(project, reviewer, local=link_hash is None, link_hash=link_hash)
    except AccessDenied as denied:
        locale = page_locale(project, denied)  # the reviewer's when known, else the project's
        project.close()
        return access_page(denied, locale)
    return ReviewWidget(session)
