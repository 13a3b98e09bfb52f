"""Benchmark: what exposure limits cost a labeling session's submit, side by side.

    .venv/bin/python benchmarks/wellbeing_limits.py [--rows N] [--history H] [--iterations M]
                                                    [--append-results]

One classification project of N items (a third sensitive), with a history already in it: the
benchmarked annotator answered H items over the last 7 days and 200 others answered 500 each.
It is copied three times and one LabelSession per copy answers item after item (submit returns
the next item: the widget's path), the three alternating iteration by iteration:
- no limits (the wellbeing counts are skipped);
- limits set (sensitive_per_hour, sensitive_per_day, streak_break: high enough never to stop
  anything, so every submit counts and serves as usual) on today's layout;
- the same limits without the index annotations(annotator_id, created_at) (new in store v7),
  which the streak check walks; the windows count the `exposures` table (also v7).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _common import markdown_table, parser, report

from labelkit import Project
from labelkit.store.tables import annotations, annotators
from labelkit.ui import LabelSession
from labelkit.wellbeing import configure_wellbeing

WARMUP = 20
OTHERS, OTHERS_ANSWERS = 200, 500
LIMITS = {"sensitive_per_hour": 100_000, "sensitive_per_day": 100_000, "streak_break": 25}
ANSWER = {"label": "billing"}


def build(folder: Path, rows: int, history: int) -> None:
    rng = np.random.default_rng(7)
    project = Project.create(folder, "classification")
    frame = pd.DataFrame(
        {
            "text": [f"message {i}: my invoice was charged twice" for i in range(rows)],
            "sensitive": rng.random(rows) < 1 / 3,
        }
    )
    project.import_items(frame, progress=False)
    now = datetime.now(UTC).replace(tzinfo=None)  # SQLite keeps naive UTC
    store = project.store
    people = ["bench"] + [f"other{i}" for i in range(OTHERS)]
    ids = {name: store.annotator_id(name) for name in people}
    rows_out = []
    # The benchmarked annotator: `history` answers spread over the last week (none in the
    # last hour, so the hourly window is the small one it is in real life).
    answered = rows // 2  # the history is on the first half; the session labels the rest
    for n, item_id in enumerate(rng.choice(answered, size=history, replace=False) + 1):
        age = timedelta(hours=1) + timedelta(days=7) * (n / history)
        rows_out.append(_row(item_id, ids["bench"], now - age))
    for name in people[1:]:
        for item_id in rng.choice(answered, size=OTHERS_ANSWERS, replace=False) + 1:
            age = timedelta(seconds=float(rng.uniform(0, 7 * 86400)))
            rows_out.append(_row(item_id, ids[name], now - age))
    with store.writing() as conn:
        conn.execute(annotations.insert(), rows_out)
        conn.execute(annotators.update().values(daily_goal=None))
        conn.exec_driver_sql(
            "UPDATE items SET answer_count = (SELECT count(*) FROM annotations a"
            " WHERE a.item_id = items.id)"
        )
    project.close()


def _row(item_id, annotator_id, at) -> dict:
    return {
        "item_id": int(item_id),
        "annotator_id": annotator_id,
        "version": 1,
        "status": "submitted",
        "answer": ANSWER,
        "client_key": uuid.uuid4().hex,
        "created_at": at,
    }


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.array(values) * 1000
    return dict(zip(("p50", "p95", "p99"), np.percentile(ms, [50, 95, 99]), strict=True))


def main() -> None:
    cli = parser(__doc__.splitlines()[0], default_rows=100_000)
    cli.add_argument("--history", type=int, default=10_000, help="bench's past answers")
    cli.add_argument("--iterations", type=int, default=1000, help="timed submits per variant")
    args = cli.parse_args()

    with tempfile.TemporaryDirectory(prefix="labelkit-bench-") as tmp:
        start = time.perf_counter()
        base = Path(tmp) / "base"
        build(base, args.rows, args.history)
        print(
            f"built {args.rows:,} items with {args.history + OTHERS * OTHERS_ANSWERS:,} answers"
            f" in {time.perf_counter() - start:.1f} s"
        )
        variants = {}
        names = (
            "no limits",
            "limits (store v7)",
            "limits, no annotations (annotator, created) index",
        )
        for n, name in enumerate(names):
            folder = Path(tmp) / f"variant{n}"
            shutil.copytree(base, folder)
            project = Project.open(folder)
            if name != "no limits":
                configure_wellbeing(project, **LIMITS)
            if name.endswith("created) index"):
                with project.store.writing() as conn:
                    conn.exec_driver_sql("DROP INDEX ix_annotations_annotator_created")
            session = LabelSession(project, "bench")
            variants[name] = {"project": project, "session": session, "times": []}
            variants[name]["shown"] = session.start()

        for i in range(WARMUP + args.iterations):
            for v in variants.values():
                t0 = time.perf_counter()
                v["shown"] = v["session"].submit(v["shown"]["token"], uuid.uuid4().hex, ANSWER)
                if i >= WARMUP:
                    v["times"].append(time.perf_counter() - t0)
        for v in variants.values():
            v["project"].close()

    base_p = percentiles(variants["no limits"]["times"])
    rows = []
    for name, v in variants.items():
        p = percentiles(v["times"])
        rows.append([name, *(f"{p[k]:.2f}" for k in p), f"{p['p50'] / base_p['p50']:.2f}x"])
    table = markdown_table(
        [
            f"session submit, {args.rows:,} items, {args.history:,}-answer history",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "p50 vs no limits",
        ],
        rows,
    )
    limited = percentiles(variants["limits (store v7)"]["times"])["p50"]
    verdict = f"Exposure limits cost {limited / base_p['p50']:.2f}x of no limits at p50."
    report("wellbeing_limits", table, verdict, args.append_results)


if __name__ == "__main__":
    main()
