"""Benchmark: import a Parquet file of N classification rows, labelkit against a bare floor.

    .venv/bin/python benchmarks/import_parquet.py [--rows N] [--repeat K] [--append-results]
                                                  [--profile]

Each measurement runs in a fresh subprocess (this script, re-run with --child), so peak RSS is
its own and no cache or import is shared:
  a. floor: pyarrow iter_batches + sqlite3 executemany into a copy of labelkit's `items` table
     (same columns, indexes and pragmas), one commit per 5000-row batch;
  b. labelkit: Project.create(dir, "classification") + import_items(path, id_column="id");
  c. labelkit re-import of the same file into the same project (must add 0 items; info only).
Targets (issue): b within 3x of a in wall time; b's peak RSS under 500 MB.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from _common import (
    markdown_table,
    parquet_file,
    parser,
    peak_rss_mb,
    report,
    time_and_memory_verdict,
)
from _common import sqlite_connect as connect

BATCH = 5000  # labelkit's sources.BATCH_ROWS
TARGET_RATIO, TARGET_RSS_MB = 3.0, 500

# labelkit's items table and indexes as SQLAlchemy creates them on SQLite (the FK to imports
# is left out: the floor has no imports table, and import_id stays NULL).
ITEMS_DDL = """
CREATE TABLE items (
    id INTEGER NOT NULL PRIMARY KEY,
    "key" VARCHAR(200) NOT NULL UNIQUE,
    data TEXT NOT NULL,
    content_hash VARCHAR(32) NOT NULL,
    metadata TEXT,
    suggestions TEXT,
    language VARCHAR(35),
    level INTEGER DEFAULT '0' NOT NULL,
    sensitive BOOLEAN DEFAULT 0 NOT NULL,
    answer_count INTEGER DEFAULT '0' NOT NULL,
    import_id INTEGER,
    created_at DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX ix_items_answer_count_id ON items (answer_count, id);
CREATE INDEX ix_items_import_id ON items (import_id);
"""
INSERT = (
    'INSERT INTO items ("key", data, content_hash, metadata, suggestions, language, level,'
    " sensitive, import_id) VALUES (?, ?, ?, NULL, NULL, ?, 0, 0, NULL)"
)


def floor_import(parquet: Path, db: Path) -> int:
    """The least work that stores the same rows: JSON data, content hash, batched commits."""
    conn = connect(db)
    conn.executescript(ITEMS_DDL)
    for batch in pq.ParquetFile(parquet).iter_batches(batch_size=BATCH):
        rows = []
        for key, text, language in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            data = json.dumps({"text": text}, ensure_ascii=False, separators=(",", ":"))
            # labelkit hashes the same canonical JSON (sort_keys changes nothing for one key)
            digest = hashlib.sha256(data.encode()).hexdigest()[:32]
            rows.append((key, data, digest, language))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
    count = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    conn.close()
    return count


def child(mode: str, parquet: Path, workdir: Path, profile: bool) -> None:
    """One measurement; prints a JSON line. Imports happen before the clock starts."""
    project_dir = workdir / "project"
    if mode == "floor":
        start = time.perf_counter()
        items = added = floor_import(parquet, workdir / "floor.db")
        seconds = time.perf_counter() - start
        db = workdir / "floor.db"
    else:
        from labelkit import Project  # not in the floor's process: its RSS stays bare

        if mode == "labelkit":
            project = Project.create(project_dir, "classification")
        else:  # reimport
            project = Project.open(project_dir)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        report = project.import_items(parquet, id_column="id", progress=False)
        seconds = time.perf_counter() - start
        if profiler:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        added, items = report.added, project.progress()["items"]
        project.close()
        db = project_dir / "labelkit.db"
    db_mb = sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 1e6  # + -wal, -shm
    result = dict(seconds=seconds, rss_mb=peak_rss_mb(), added=added, items=items, db_mb=db_mb)
    print(json.dumps(result))


def measure(mode: str, parquet: Path, workdir: Path, profile: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", mode, str(parquet), str(workdir)]
    done = subprocess.run(
        command + ["--profile"] * profile, stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    cli = parser(__doc__.splitlines()[0], default_rows=1_000_000)
    cli.add_argument("--profile", action="store_true", help="also profile a labelkit import")
    cli.add_argument(
        "--repeat", type=int, default=1, help="run a and b this many times, keep the best"
    )
    args = cli.parse_args()

    start = time.perf_counter()
    parquet = parquet_file(args.rows)
    groups = pq.ParquetFile(parquet).num_row_groups
    size_mb, seconds = parquet.stat().st_size / 1e6, time.perf_counter() - start
    print(f"data: {parquet} ({size_mb:.0f} MB, {groups} row groups; ready in {seconds:.1f} s)")

    runs: dict[str, list[dict]] = {"floor": [], "labelkit": []}
    with tempfile.TemporaryDirectory(prefix="labelkit-bench-") as tmp:
        for rep in range(args.repeat):  # a and b alternate, so both see the same machine load
            run_dir = Path(tmp) / f"run{rep}"
            run_dir.mkdir()
            for mode, results in runs.items():
                results.append(measure(mode, parquet, run_dir))
                print(f"  {mode}: {results[-1]}", flush=True)
            if rep < args.repeat - 1:
                shutil.rmtree(run_dir)
        again = measure("reimport", parquet, run_dir)  # into the last run's project
        print(f"  reimport: {again}", flush=True)
        if args.profile:
            print("profiling a labelkit import (cProfile, sorted by own time):", flush=True)
            (Path(tmp) / "profile").mkdir()
            measure("labelkit", parquet, Path(tmp) / "profile", profile=True)

    # Best wall time of the repeats (the least disturbed run), worst peak RSS.
    floor, kit = (
        min(rs, key=lambda r: r["seconds"]) | {"rss_mb": max(r["rss_mb"] for r in rs)}
        for rs in runs.values()
    )
    assert all(r["items"] == args.rows for rs in runs.values() for r in rs), runs
    assert again["added"] == 0 and again["items"] == args.rows, again  # re-import adds nothing

    def row(name: str, r: dict) -> list:
        per_second = f"{args.rows / r['seconds']:,.0f}"
        return [name, f"{r['seconds']:.1f}", per_second, f"{r['rss_mb']:.0f}", f"{r['db_mb']:.0f}"]

    ratio, rss = kit["seconds"] / floor["seconds"], kit["rss_mb"]
    table = markdown_table(
        ["import of " + f"{args.rows:,} rows", "wall s", "rows/s", "peak RSS MB", "db MB"],
        [
            row("a. floor: pyarrow + sqlite3", floor),
            row("b. labelkit `import_items`", kit),
            row("c. labelkit re-import (0 added; info)", again),
            ["**b / a**", f"**{ratio:.2f}x**", "", f"{rss / floor['rss_mb']:.2f}x", ""],
        ],
    )
    verdict = time_and_memory_verdict(ratio, TARGET_RATIO, rss, TARGET_RSS_MB)
    report("import_parquet", table, verdict, args.append_results)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), "--profile" in sys.argv[5:])
    else:
        main()
