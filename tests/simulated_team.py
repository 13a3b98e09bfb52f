"""A classification project labeled by a simulated crowd (labelkit.quality.simulate), for the
dashboard tests: known answers, durations and times, some items unanswered or half done, one
edited answer, a skip, honeypot scores, sensitive items and a pay rate."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from labelkit import Project
from labelkit.pay import configure_pay
from labelkit.quality.simulate import simulate_crowd
from labelkit.store.tables import annotations, gold_scores, items
from labelkit.wellbeing import record_exposures

PER_ANSWER = 0.1  # EUR a paid answer


@dataclass
class Team:
    project: Project
    labels: list[str]
    answers: dict[tuple[str, str], str] = field(default_factory=dict)  # (item, annotator) -> label
    durations: dict[tuple[str, str], int] = field(default_factory=dict)  # current answers' ms
    moments: dict[int, datetime] = field(default_factory=dict)  # annotation id -> when (UTC)
    sensitive: set[str] = field(default_factory=set)  # item keys
    gold: dict[str, list[float]] = field(default_factory=dict)  # annotator -> honeypot scores
    unanswered: list[str] = field(default_factory=list)


def simulated_team(path, db_url=None, *, n_items=30, n_workers=6, overlap=4, seed=1) -> Team:
    project = Project.create(path, "classification", overlap=overlap, db_url=db_url)
    labels = list(project.schema.questions[0].labels)
    keys = [f"t{i:03d}" for i in range(n_items + 6)]
    texts = [f"ticket {key}: <script>alert('{key}')</script> & more" for key in keys]
    project.import_items(pd.DataFrame({"id": keys, "text": texts}), id_column="id", progress=False)
    configure_pay(project, per_answer=PER_ANSWER)
    team = Team(project, labels)
    crowd = simulate_crowd(n_items, n_workers, len(labels), overlap, seed=seed)
    rng = random.Random(seed)
    for row in crowd.answers.itertuples(index=False):
        key, name, label = keys[row.task], f"ann{row.worker}", labels[row.label]
        duration = rng.randint(800, 20_000)
        project.submit(key, {"label": label}, annotator=name, duration_ms=duration)
        team.answers[(key, name)] = label
        team.durations[(key, name)] = duration
    # Two items half done, four not started.
    for key in keys[n_items : n_items + 2]:
        for name in ("ann0", "ann1"):
            project.submit(key, {"label": labels[0]}, annotator=name, duration_ms=5000)
            team.answers[(key, name)] = labels[0]
            team.durations[(key, name)] = 5000
    team.unanswered = keys[n_items + 2 :]
    # An edit: ann0 changes their first answer (the new version counts, once).
    first = next(key for (key, name) in team.answers if name == "ann0")
    edited = labels[(labels.index(team.answers[(first, "ann0")]) + 1) % len(labels)]
    project.submit(first, {"label": edited}, annotator="ann0", duration_ms=1234)
    team.answers[(first, "ann0")] = edited
    team.durations[(first, "ann0")] = 1234
    # A skip is no answer.
    project.submit(team.unanswered[0], None, annotator="ann1", status="skipped")

    store = project.store
    now = datetime.now(UTC)
    with store.writing() as conn:
        rows = conn.execute(
            sa.select(annotations.c.id, annotations.c.annotator_id, annotations.c.item_id)
            .where(annotations.c.status == "submitted")
            .order_by(annotations.c.id)
        ).all()
        # Spread the answers over three hours: the last third a minute ago.
        naive = conn.dialect.name == "sqlite"
        for n, (annotation_id, _, _) in enumerate(rows):
            moment = now - timedelta(hours=2 - (3 * n) // len(rows), minutes=1)
            moment = moment.replace(microsecond=0)
            team.moments[annotation_id] = moment
            conn.execute(
                annotations.update()
                .where(annotations.c.id == annotation_id)
                .values(created_at=moment.replace(tzinfo=None) if naive else moment)
            )
        # Honeypot scores (another part of labelkit writes them on submit).
        names = dict(
            conn.execute(sa.text("select id, name from annotators")).all()  # id -> name
        )
        for annotation_id, annotator_id, item_id in rows[: 4 * n_workers]:
            score = round(rng.random(), 2)
            conn.execute(
                gold_scores.insert().values(
                    annotation_id=annotation_id,
                    annotator_id=annotator_id,
                    item_id=item_id,
                    score=score,
                )
            )
            team.gold.setdefault(names[annotator_id], []).append(score)
        team.sensitive = set(keys[:5])
        conn.execute(items.update().where(items.c.key.in_(team.sensitive)).values(sensitive=True))
        flagged = sa.select(items.c.id).where(items.c.key.in_(team.sensitive))
        for item_id in conn.execute(flagged).scalars().all():  # as a flag from an answer does
            record_exposures(conn, item_id)
    return team
