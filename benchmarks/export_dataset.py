"""Benchmark: export a project of M answers as a Hugging Face dataset, against a pyarrow floor.

    .venv/bin/python benchmarks/export_dataset.py [--answers M] [--overlap K] [--repeat R]
                                                  [--append-results]

The project: a classification task of M / K items, each answered by K annotators (default
1,000,000 answers = 250,000 items x 4), made once and kept in $TMPDIR/labelkit-bench-cache/.
Each measurement runs in a fresh subprocess (this script, re-run with --child), so its peak RSS
(VmHWM) is its own:
  a. floor: sqlite3 + pyarrow write the same raw table (one row per item, its answers as lists)
     straight to parquet: the same two ordered queries, merged, 10,000 items per record batch;
  b. labelkit `publish(views=["raw"])`: the raw view streamed through datasets' ParquetWriter
     into a hub-ready folder with its dataset card (progress bar on, to stderr);
  c. labelkit `to_dataset("raw")` (info): the same view as a datasets.Dataset (Arrow cache).
Targets (issue 7): b within 2x of a in wall time; peak RSS under 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from _common import (
    CACHE_DIR,
    markdown_table,
    parquet_file,
    peak_rss_mb,
    report,
    sqlite_connect,
    time_and_memory_verdict,
)

TARGET_RATIO, TARGET_RSS_MB = 2.0, 1000
PROJECT_VERSION = 1  # bump when the generated project changes
LABELS = ["billing", "technical issue", "account", "feedback", "other"]  # the template's
BATCH_ITEMS = 10_000

# The raw view of the classification template as plain Arrow (its ClassLabel is stored as
# int64, its Json answer as text).
ANNOTATION = pa.struct(
    [
        ("annotator", pa.string()),
        ("status", pa.string()),
        ("version", pa.int64()),
        ("answer", pa.string()),
        ("comment", pa.string()),
        ("duration_ms", pa.int64()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)
RAW = pa.schema(
    [
        ("item_id", pa.string()),
        ("text", pa.string()),
        ("language", pa.string()),
        ("level", pa.int64()),
        ("annotations", pa.list_(ANNOTATION)),
        ("label.responses", pa.list_(pa.int64())),
        ("label.responses.users", pa.list_(pa.string())),
        ("label.responses.status", pa.list_(pa.string())),
    ]
)
ITEMS_SQL = """
SELECT items.id, items."key", items.data, items.language, items.level FROM items
LEFT JOIN gold ON gold.item_id = items.id
WHERE gold.item_id IS NULL
  AND (items.import_id IS NULL
       OR items.import_id NOT IN (SELECT id FROM imports WHERE status != 'done'))
ORDER BY items.id
"""
ANSWERS_SQL = """
SELECT a.item_id, annotators.name, a.status, a.version, a.answer, a.comment, a.duration_ms,
       a.created_at
FROM annotations AS a JOIN annotators ON annotators.id = a.annotator_id
WHERE NOT EXISTS (SELECT 1 FROM annotations AS newer WHERE newer.item_id = a.item_id
                  AND newer.annotator_id = a.annotator_id AND newer.version > a.version)
  AND a.status NOT IN ('rejected')
ORDER BY a.item_id, a.annotator_id
"""


# ---------------------------------------------------------------------------- the project


def make_project(answers: int, overlap: int) -> Path:
    """A classification project with `answers` answers (items x overlap), cached."""
    folder = CACHE_DIR / f"export-v{PROJECT_VERSION}-{answers}-k{overlap}"
    if folder.exists():
        return folder
    from labelkit import Project

    n_items = answers // overlap
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    project = Project.create(partial, "classification", overlap=overlap)
    project.import_items(parquet_file(n_items), id_column="id")
    names = [f"annotator-{i}" for i in range(overlap)]
    ids = [project.store.annotator_id(name) for name in names]
    project.close()
    rng = random.Random(0)
    conn = sqlite_connect(partial / "labelkit.db")
    item_ids = [row[0] for row in conn.execute("SELECT id FROM items ORDER BY id")]
    insert = (
        "INSERT INTO annotations (item_id, annotator_id, version, status, answer, duration_ms,"
        " client_key) VALUES (?, ?, 1, 'submitted', ?, ?, ?)"
    )
    for start in range(0, len(item_ids), 50_000):
        rows = [
            (
                item,
                annotator,
                json.dumps({"label": rng.choice(LABELS)}),
                rng.randint(800, 20_000),
                f"bench-{item}-{annotator}",
            )
            for item in item_ids[start : start + 50_000]
            for annotator in ids
        ]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
    conn.execute("UPDATE items SET answer_count = ?", (overlap,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    partial.rename(folder)
    return folder


# ---------------------------------------------------------------------------- the floor


def floor_export(db: Path, out: Path) -> tuple[int, int]:
    """The least work that writes the same table: rows, answers."""
    conn = sqlite_connect(db)
    items = conn.execute(ITEMS_SQL)
    answers = conn.cursor().execute(ANSWERS_SQL)
    label_index = {label: i for i, label in enumerate(LABELS)}
    utc = dt.UTC
    pending = answers.fetchone()
    n_rows = n_answers = 0
    with pq.ParquetWriter(out, RAW) as writer:
        while True:
            chunk = items.fetchmany(BATCH_ITEMS)
            if not chunk:
                break
            columns: dict[str, list] = {name: [] for name in RAW.names}
            for item_id, key, data, language, level in chunk:
                while pending is not None and pending[0] < item_id:
                    pending = answers.fetchone()
                annotations, labels, users, statuses = [], [], [], []
                while pending is not None and pending[0] == item_id:
                    _, name, status, version, answer, comment, duration, created = pending
                    annotations.append(
                        {
                            "annotator": name,
                            "status": status,
                            "version": version,
                            "answer": answer,
                            "comment": comment,
                            "duration_ms": duration,
                            "created_at": dt.datetime.fromisoformat(created).replace(tzinfo=utc),
                        }
                    )
                    if answer is not None:
                        labels.append(label_index[json.loads(answer)["label"]])
                        users.append(name)
                        statuses.append(status)
                    pending = answers.fetchone()
                n_answers += len(annotations)
                columns["item_id"].append(key)
                columns["text"].append(json.loads(data)["text"])
                columns["language"].append(language)
                columns["level"].append(level)
                columns["annotations"].append(annotations)
                columns["label.responses"].append(labels)
                columns["label.responses.users"].append(users)
                columns["label.responses.status"].append(statuses)
            writer.write_table(pa.table(columns, schema=RAW))
            n_rows += len(chunk)
    conn.close()
    return n_rows, n_answers


# ---------------------------------------------------------------------------- measuring


def child(mode: str, project_dir: Path, out: Path) -> None:
    """One measurement; prints a JSON line. Imports happen before the clock starts."""
    if mode == "floor":
        start = time.perf_counter()
        rows, answers = floor_export(project_dir / "labelkit.db", out / "raw.parquet")
        seconds = time.perf_counter() - start
    else:
        import datasets

        from labelkit import Project

        project = Project.open(project_dir)
        start = time.perf_counter()
        if mode == "publish":
            project.publish(out, views=["raw"], progress=True)
            seconds = time.perf_counter() - start
            table = pq.ParquetDataset(sorted(out.glob("raw/*.parquet"))).read(
                columns=["label.responses"]
            )
        else:  # to_dataset
            datasets.config.HF_DATASETS_CACHE = out / "cache"  # measured cold, thrown away
            dataset = project.to_dataset("raw")
            seconds = time.perf_counter() - start
            table = dataset.data.table.select(["label.responses"])
        rows = table.num_rows
        answers = sum(len(v) for v in table.column("label.responses").to_pylist())
        project.close()
    size_mb = sum(p.stat().st_size for p in out.rglob("*.parquet")) / 1e6
    result = dict(seconds=seconds, rss_mb=peak_rss_mb(), rows=rows, answers=answers)
    print(json.dumps(result | {"parquet_mb": size_mb}))


def measure(mode: str, project_dir: Path, out: Path) -> dict:
    if mode != "publish":  # publish makes its folder itself
        out.mkdir(parents=True)
    log = out.parent / f"{mode}.log"
    command = [sys.executable, __file__, "--child", mode, str(project_dir), str(out)]
    with log.open("w") as stderr:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    if done.returncode:
        sys.exit(f"{mode} failed:\n{log.read_text()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--append-results", action="store_true", help="append to RESULTS.md")
    cli.add_argument("--answers", type=int, default=1_000_000, help="answers (%(default)s)")
    cli.add_argument("--overlap", type=int, default=4, help="answers per item (%(default)s)")
    cli.add_argument(
        "--repeat", type=int, default=1, help="run a and b this many times, keep the best"
    )
    args = cli.parse_args()

    start = time.perf_counter()
    project_dir = make_project(args.answers, args.overlap)
    print(f"project: {project_dir} (ready in {time.perf_counter() - start:.1f} s)", flush=True)
    runs: dict[str, list[dict]] = {"floor": [], "publish": [], "to_dataset": []}
    with tempfile.TemporaryDirectory(prefix="labelkit-bench-") as tmp:
        for rep in range(args.repeat):  # a and b alternate: both see the same machine load
            for mode in ("floor", "publish") + (("to_dataset",) if rep == 0 else ()):
                runs[mode].append(measure(mode, project_dir, Path(tmp) / f"{mode}-{rep}"))
                print(f"  {mode}: {runs[mode][-1]}", flush=True)
                shutil.rmtree(Path(tmp) / f"{mode}-{rep}")
    expected = (args.answers // args.overlap, args.answers)
    for mode, results in runs.items():  # every variant wrote the same rows and answers
        assert all((r["rows"], r["answers"]) == expected for r in results), (mode, results)

    # Best wall time of the repeats (the least disturbed run), worst peak RSS.
    floor, kit, built = (
        min(rs, key=lambda r: r["seconds"]) | {"rss_mb": max(r["rss_mb"] for r in rs)}
        for rs in runs.values()
    )

    def row(name: str, r: dict) -> list:
        return [
            name,
            f"{r['seconds']:.1f}",
            f"{args.answers / r['seconds']:,.0f}",
            f"{r['rss_mb']:.0f}",
            f"{r['parquet_mb']:.0f}" if r["parquet_mb"] else "",
        ]

    ratio, rss = kit["seconds"] / floor["seconds"], kit["rss_mb"]
    table = markdown_table(
        [
            f"raw view of {args.answers:,} answers",
            "wall s",
            "answers/s",
            "peak RSS MB",
            "parquet MB",
        ],
        [
            row("a. floor: sqlite3 + pyarrow", floor),
            row("b. labelkit `publish` (raw view + card)", kit),
            row("c. labelkit `to_dataset('raw')` (info)", built),
            ["**b / a**", f"**{ratio:.2f}x**", "", f"{rss / floor['rss_mb']:.2f}x", ""],
        ],
    )
    verdict = time_and_memory_verdict(ratio, TARGET_RATIO, rss, TARGET_RSS_MB)
    report("export_dataset", table, verdict, args.append_results)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
