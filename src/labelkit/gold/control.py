"""What the store calls on every answer, inside the submit transaction (store.quality).

After the answer is written and the annotator's lease released, in the same transaction:
1. a first submitted answer to a honeypot is scored (gold_scores) and the gold accuracy rules
   run (policy.after_gold_score): a suspension or retry takes effect before the next item is
   chosen, so that same call hands out nothing more;
2. a first submitted answer with a duration is checked for speed (policy.SpeedCheck);
3. a first touch of a normal item draws whether a honeypot comes next (honeypots.due) and,
   if so, leases one to the annotator: the next item they are handed is that honeypot.
Edits (later versions) change nothing here: only first answers count.

Cost on the submit path: nothing extra when the item is not gold, no honeypot is due and no
duration is given; otherwise a few index seeks over the annotator's own rows or the (small)
gold table; the honest median is cached (policy.MEDIAN_TTL_SECONDS).
"""

from __future__ import annotations

import sqlalchemy as sa

from labelkit.gold import honeypots, policy
from labelkit.gold.history import now
from labelkit.gold.scoring import score_answer
from labelkit.gold.settings import QualitySettings
from labelkit.store.tables import annotators, gold, gold_scores, items


class QualityControl:
    def __init__(self, project, settings: QualitySettings):
        self.project = project
        self.settings = settings
        self.speed = None if settings.fast is None else policy.SpeedCheck(settings.fast)
        self._top_level: tuple[int, int] | None = None  # (max item id, max level)

    def after_answer(
        self, conn: sa.Connection, annotation, *, gold_item: bool, first: bool, duration_ms
    ) -> None:
        if not first:
            return
        submitted = annotation.status == "submitted"
        if submitted and gold_item:
            self._score(conn, annotation)
        if submitted and duration_ms is not None and self.speed is not None:
            self.speed.check(conn, annotation.id, annotation.annotator_id, duration_ms)
        if not gold_item:
            self._maybe_honeypot(conn, annotation)

    # ------------------------------------------------------------------ honeypot answers

    def _score(self, conn: sa.Connection, annotation) -> None:
        row = conn.execute(
            sa.select(gold.c.answer, gold.c.exam).where(gold.c.item_id == annotation.item_id)
        ).first()
        if row is None or row.exam is not None:  # exam items are scored by their exam
            return
        score = score_answer(self.project.schema, annotation.answer, row.answer, self.settings)
        if score is None:
            return
        conn.execute(
            gold_scores.insert().values(
                annotation_id=annotation.id,
                annotator_id=annotation.annotator_id,
                item_id=annotation.item_id,
                score=score,
                created_at=now(),
            )
        )
        policy.after_gold_score(
            conn, annotation.annotator_id, self.settings, lambda: self.top_level(conn)
        )

    def top_level(self, conn: sa.Connection) -> int:
        """The highest level of any normal item; recounted only after items were added."""
        last = conn.execute(sa.select(sa.func.max(items.c.id))).scalar() or 0
        if self._top_level is None or self._top_level[0] != last:
            top = conn.execute(
                sa.select(sa.func.max(items.c.level)).where(items.c.gold == sa.false())
            ).scalar()
            self._top_level = (last, top or 0)
        return self._top_level[1]

    # ------------------------------------------------------------------ honeypots

    def _maybe_honeypot(self, conn: sa.Connection, annotation) -> None:
        s = self.settings
        if not honeypots.due(s.honeypot_rate, s.seed, annotation.annotator_id, annotation.item_id):
            return
        me = annotation.annotator_id
        status = conn.execute(sa.select(annotators.c.status).where(annotators.c.id == me)).scalar()
        store = self.project.store
        clock = store.clock()
        if status != "active" or honeypots.holds_lease(conn, me, clock):
            return
        limits = getattr(store, "wellbeing", None)
        no_sensitive = limits is not None and limits.blocked(conn, me, clock) is not None
        found = honeypots.choose(conn, me, no_sensitive=no_sensitive)
        if found is not None:
            honeypots.lease(conn, found, me, clock + self.project.lease_seconds)
