"""Benchmark: the team dashboard's figures (`labelkit stats --json`) against reading the data.

    .venv/bin/python benchmarks/dashboard_figures.py [--rows N] [--overlap K] [--rounds R]
                                                     [--profile] [--append-results]

A classification project of N items answered K times each by 200 annotators (answers written
straight into the store, spread over the last 10 days, with durations and pay rates set) is
summed up R times by labelkit.dashboard.figures.project_figures, alternating with the floor:
one pandas.read_sql of the current annotations joined to their annotators, the least any
dashboard has to read. The ratio is the cost of everything the dashboard computes on top.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from _common import markdown_table, parser, report

from labelkit import Project
from labelkit.dashboard.figures import project_figures
from labelkit.store.tables import annotations

ANNOTATORS = 200
LABELS = ["billing", "technical issue", "account", "feedback", "other"]
FLOOR_SQL = (
    "SELECT a.item_id, p.name, a.answer, a.duration_ms, a.created_at FROM annotations a"
    " JOIN annotators p ON p.id = a.annotator_id WHERE a.status = 'submitted'"
)


def build(folder: Path, rows: int, overlap: int) -> Project:
    rng = np.random.default_rng(11)
    project = Project.create(folder, "classification", overlap=overlap)
    project.import_items(
        pd.DataFrame({"text": [f"ticket {i}: I was charged twice" for i in range(rows)]}),
        progress=False,
    )
    project.settings["pay"] = {"currency": "EUR", "per_answer": 0.05}
    project.save_settings()
    store = project.store
    ids = [store.annotator_id(f"annotator{i:03d}") for i in range(ANNOTATORS)]
    now = datetime.now(UTC).replace(tzinfo=None)
    truth = rng.integers(0, len(LABELS), size=rows)
    out = []
    for item in range(rows):
        for who in rng.choice(ANNOTATORS, size=overlap, replace=False):
            label = truth[item] if rng.random() < 0.8 else rng.integers(0, len(LABELS))
            out.append(
                {
                    "item_id": item + 1,
                    "annotator_id": ids[who],
                    "version": 1,
                    "status": "submitted",
                    "answer": {"label": LABELS[label]},
                    "duration_ms": int(rng.integers(2_000, 60_000)),
                    "client_key": uuid.uuid4().hex,
                    "created_at": now - timedelta(seconds=float(rng.uniform(0, 10 * 86400))),
                }
            )
    with store.writing() as conn:
        conn.execute(annotations.insert(), out)
        conn.exec_driver_sql(f"UPDATE items SET answer_count = {overlap}")
    return project


def main() -> None:
    cli = parser(__doc__.splitlines()[0], default_rows=20_000)
    cli.add_argument("--overlap", type=int, default=5, help="answers per item (%(default)s)")
    cli.add_argument("--rounds", type=int, default=5, help="timed rounds (%(default)s)")
    cli.add_argument("--profile", action="store_true", help="then profile one more round")
    args = cli.parse_args()

    with tempfile.TemporaryDirectory(prefix="labelkit-bench-") as tmp:
        start = time.perf_counter()
        project = build(Path(tmp) / "project", args.rows, args.overlap)
        total = args.rows * args.overlap
        print(
            f"built {args.rows:,} items, {total:,} answers in {time.perf_counter() - start:.1f} s"
        )
        project_figures(project)  # warm: imports, caches
        kit, floor = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            figures = project_figures(project)
            t1 = time.perf_counter()
            with project.store.engine.connect() as conn:
                frame = pd.read_sql(FLOOR_SQL, conn.connection.driver_connection)
            t2 = time.perf_counter()
            kit.append(t1 - t0)
            floor.append(t2 - t1)
        assert len(frame) == total and sum(p["answers"] for p in figures["per_annotator"]) == total
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(project_figures, project)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(35)
        project.close()

    k, f = float(np.median(kit)), float(np.median(floor))
    table = markdown_table(
        [f"{args.rows:,} items × {args.overlap} answers, median of {args.rounds}", "seconds"],
        [
            ["labelkit project_figures (the dashboard, stats --json)", f"{k:.2f}"],
            ["floor: pandas.read_sql of the submitted answers", f"{f:.2f}"],
            ["**labelkit / floor**", f"**{k / f:.1f}x**"],
        ],
    )
    verdict = f"The dashboard's figures take {k / f:.1f}x the time of reading the answers."
    report("dashboard_figures", table, verdict, args.append_results)


if __name__ == "__main__":
    main()
