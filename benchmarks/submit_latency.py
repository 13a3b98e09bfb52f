"""Benchmark: latency of submit-then-fetch-next for one annotator, labelkit against a floor.

    .venv/bin/python benchmarks/submit_latency.py [--rows N] [--iterations M] [--append-results]
                                                  [--profile]

A classification project of N items is built by importing the cached Parquet file of
import_parquet.py (generated when missing). Then, M times, one annotator does
``project.submit(item, {"label": "billing"})`` + ``item = project.next_item()``, timed as a pair
(two commits: next_item leases the item), then ``project.submit_and_next(item, ...)`` (one
commit; what a labeling session does).
The floor is a bare sqlite3 connection to another file, same pragmas (WAL, synchronous=FULL),
doing one single-row INSERT + COMMIT into a copy of the annotations table. The two alternate
iteration by iteration, so both see the same machine noise and the ratios hold.
Target (issue): labelkit p99 under 10 ms.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from _common import append_results, markdown_table, parquet_file, parser
from _common import sqlite_connect as connect

from labelkit import Project

TARGET_P99_MS = 10.0
WARMUP = 20  # iterations run before timing starts (cold caches, first-use code paths)
ANSWER = {"label": "billing"}
PCTS = ("p50", "p95", "p99", "max")
PROFILED = 500  # pairs run under cProfile with --profile

# labelkit's annotations table as created on SQLite, without the foreign keys (no items here).
ANNOTATIONS_DDL = """
CREATE TABLE annotations (
    id INTEGER NOT NULL PRIMARY KEY,
    item_id INTEGER NOT NULL,
    annotator_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    answer TEXT,
    comment TEXT,
    duration_ms INTEGER,
    client_key VARCHAR(64) NOT NULL UNIQUE,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT uq_annotation_version UNIQUE (item_id, annotator_id, version)
);
CREATE INDEX ix_annotations_annotator_item ON annotations (annotator_id, item_id);
"""
INSERT = (
    "INSERT INTO annotations (item_id, annotator_id, version, status, answer, client_key)"
    " VALUES (?, 1, 1, 'submitted', ?, ?)"
)


def floor_submit(conn, item_id: int) -> None:
    answer = json.dumps(ANSWER, separators=(",", ":"))
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(INSERT, (item_id, answer, uuid.uuid4().hex))
    conn.execute("COMMIT")


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.array(values) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"p50": p50, "p95": p95, "p99": p99, "max": ms.max()}


def profile(project: Project, iterations: int) -> None:
    """Where labelkit's time goes in the loop (cProfile; slows everything down ~2x)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    item = project.next_item("bench")
    profiler.enable()
    for _ in range(iterations):
        project.submit(item, ANSWER, annotator="bench")
        item = project.next_item("bench")
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)


def main() -> None:
    cli = parser(__doc__.splitlines()[0], default_rows=1_000_000)
    cli.add_argument("--iterations", type=int, default=2000, help="timed pairs (%(default)s)")
    cli.add_argument("--profile", action="store_true", help=f"then profile {PROFILED} more")
    args = cli.parse_args()
    if args.rows < 2 * (WARMUP + args.iterations) + PROFILED * args.profile:
        cli.error("--rows must exceed the iterations: each one answers a new item")

    parquet = parquet_file(args.rows)
    with tempfile.TemporaryDirectory(prefix="labelkit-bench-") as tmp:
        start = time.perf_counter()
        project = Project.create(Path(tmp) / "project", "classification")
        project.import_items(parquet, id_column="id", progress=False)
        print(f"built a project of {args.rows:,} items in {time.perf_counter() - start:.1f} s")
        floor = connect(Path(tmp) / "floor.db")
        floor.executescript(ANNOTATIONS_DDL)

        pairs, submits, nexts, combined, floors = [], [], [], [], []
        item = project.next_item("bench")
        for i in range(WARMUP + args.iterations):
            t0 = time.perf_counter()
            project.submit(item, ANSWER, annotator="bench")
            t1 = time.perf_counter()
            item = project.next_item("bench")  # leases it: a write since issue 4
            t2 = time.perf_counter()
            floor_submit(floor, i + 1)
            t3 = time.perf_counter()
            _, item = project.submit_and_next(item, ANSWER, annotator="bench")  # the UI's path
            t4 = time.perf_counter()
            if i >= WARMUP:
                pairs.append(t2 - t0)
                submits.append(t1 - t0)
                nexts.append(t2 - t1)
                floors.append(t3 - t2)
                combined.append(t4 - t3)
        assert project.progress()["complete"] == 2 * (WARMUP + args.iterations)
        if args.profile:
            profile(project, PROFILED)
        project.close()
        floor.close()

    kit, bare, one = percentiles(pairs), percentiles(floors), percentiles(combined)

    def row(name: str, figures: dict) -> list:
        return [name, *(f"{figures[k]:.2f}" for k in PCTS)]

    table = markdown_table(
        [f"{args.iterations} iterations, {args.rows:,} items", "p50 ms", "p95 ms", "p99 ms", "max"],
        [
            row("labelkit submit + next_item", kit),
            row("· of which submit", percentiles(submits)),
            row("· of which next_item", percentiles(nexts)),
            row("labelkit submit_and_next (one commit; the UI's path)", one),
            row("floor: sqlite3 INSERT + COMMIT", bare),
            ["**labelkit / floor**", *(f"**{kit[k] / bare[k]:.1f}x**" for k in PCTS[:3]), ""],
            [
                "**submit_and_next / floor**",
                *(f"**{one[k] / bare[k]:.1f}x**" for k in PCTS[:3]),
                "",
            ],
        ],
    )
    met = one["p99"] < TARGET_P99_MS
    verdict = (
        f"Target: p99 of submit-and-fetch-next under {TARGET_P99_MS:.0f} ms, as a labeling "
        f"session does it (submit_and_next): **{'met' if met else 'MISSED'}** "
        f"({one['p99']:.2f} ms; as two calls {kit['p99']:.2f} ms)."
    )
    print()
    print(table)
    print()
    print(verdict)
    if not met and not args.profile:
        print("(run with --profile to see where the time goes)")
    if args.append_results:
        append_results("submit_latency", table + "\n\n" + verdict)


if __name__ == "__main__":
    main()
