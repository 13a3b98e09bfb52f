"""Benchmark: assignment + submit throughput with many annotators at once, SQLite vs PostgreSQL.

    .venv/bin/python benchmarks/assignment_throughput.py [--sizes 10000,1000000]
        [--annotators 16] [--seconds 30] [--overlap 3] [--backends sqlite,postgresql]
        [--think 0,0.5-1.5] [--append-results]

For each backend and project size, a classification project is built from the cached Parquet
file of import_parquet.py. Then `--annotators` separate processes (spawned, like Voila kernels)
each loop ``project.submit_and_next(item, answer)`` (the labeling session's path: record the
answer, release its lease, lease the next item, one commit) for `--seconds`, timing each call.
With `--think LOW-HIGH` each annotator pauses a random LOW..HIGH seconds between answers (not
timed), as people do (1-3 s a micro-task; scale it down to fit the run): without a pause all
processes hammer the store at once, the worst case; with it, p99 shows a real team's
contention. Several modes, comma-separated (0 = no pause), run one after the other on the
same project (built once per size and backend).
Reported: answers/s over all processes, and latency percentiles of one call. PostgreSQL runs
on a throwaway local cluster (fsync on, like a real server). Targets (issue 4): p99 under
50 ms on SQLite; no throughput collapse from the small to the large project.
"""

from __future__ import annotations

import multiprocessing
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _common import append_results, markdown_table, parquet_file, parser

from labelkit import Project

ANSWER = {"label": "billing"}
TARGET_P99_MS = 50.0
COLLAPSE_RATIO = 0.5  # large project below half the small one's answers/s = a collapse
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def annotator(
    folder: str, db_url, name: str, seconds: float, think: tuple, start, out: str
) -> None:
    """One annotator process: label for `seconds` after the common start, pausing `think`
    (low, high) seconds between answers; save latencies."""
    latencies = []
    pause = random.Random(name)
    with Project.open(folder, db_url=db_url) as project:
        item = project.next_item(name)
        start.wait()
        if think[1]:  # people do not start in step
            time.sleep(pause.uniform(0, think[1]))
        deadline = time.perf_counter() + seconds
        while item is not None and time.perf_counter() < deadline:
            t0 = time.perf_counter()
            _, item = project.submit_and_next(item, ANSWER, annotator=name)
            latencies.append(time.perf_counter() - t0)
            if think[1]:
                time.sleep(pause.uniform(*think))
    np.save(out, np.array(latencies))


def run(folder: Path, db_url, annotators: int, seconds: float, think: tuple, tmp: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    outs = [tmp / f"lat-{k}.npy" for k in range(annotators)]
    processes = [
        context.Process(
            target=annotator,
            args=(str(folder), db_url, f"a{k:02d}", seconds, think, start, str(out)),
        )
        for k, out in enumerate(outs)
    ]
    for process in processes:
        process.start()
    time.sleep(5 + annotators * 0.5)  # let every process import labelkit and open the project
    begin = time.perf_counter()
    start.set()
    for process in processes:
        process.join()
    wall = time.perf_counter() - begin
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    ms = np.concatenate([np.load(out) for out in outs]) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"answers": len(ms), "per_s": len(ms) / wall, "p50": p50, "p95": p95, "p99": p99}


@contextmanager
def postgres_server(tmp: Path):
    """A throwaway PostgreSQL cluster on 127.0.0.1 (as user postgres when we are root)."""
    bindir = PG_BIN[-1]
    data = tmp / "pgdata"
    tmp.mkdir()
    as_user = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(tmp, user="postgres", group=pwd.getpwnam("postgres").pw_gid)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def tool(*args):
        subprocess.run([*as_user, str(bindir / args[0]), *args[1:]], check=True, cwd=tmp)

    tool("initdb", "-D", str(data), "--auth=trust", "-U", "bench", "--no-locale", "-E", "UTF8")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c max_connections=100"
    tool("pg_ctl", "-D", str(data), "-o", options, "-l", str(tmp / "pg.log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://bench@127.0.0.1:{port}"
    finally:
        tool("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")


def create_database(base_url: str, name: str) -> str:
    import psycopg

    conninfo = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{base_url}/{name}"


def main() -> None:
    cli = parser(__doc__.splitlines()[0], default_rows=0)
    cli.add_argument("--sizes", default="10000,1000000", help="project sizes (%(default)s)")
    cli.add_argument("--annotators", type=int, default=16, help="processes (%(default)s)")
    cli.add_argument("--seconds", type=float, default=30, help="per run (%(default)s)")
    cli.add_argument("--overlap", type=int, default=3, help="answers per item (%(default)s)")
    cli.add_argument("--backends", default="sqlite,postgresql", help="(%(default)s)")
    cli.add_argument(
        "--think", default="0", help="pauses between answers, s: 0 or LOW-HIGH, comma-separated"
    )
    args = cli.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    backends = args.backends.split(",")
    modes = [_think(mode) for mode in args.think.split(",")]

    results = {}
    with tempfile.TemporaryDirectory(prefix="labelkit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        with postgres_server(tmp / "pg") if "postgresql" in backends else _nothing() as base:
            for backend in backends:
                for size in sizes:
                    folder = tmp / f"{backend}-{size}"
                    db_url = None
                    if backend == "postgresql":
                        db_url = create_database(base, f"bench_{size}")
                    t0 = time.perf_counter()
                    with Project.create(
                        folder, "classification", db_url=db_url, overlap=args.overlap
                    ) as project:
                        project.import_items(parquet_file(size), id_column="id", progress=False)
                    print(f"{backend} {size:,} items: built in {time.perf_counter() - t0:.0f} s")
                    for think in modes:
                        results[backend, size, think] = figures = run(
                            folder, db_url, args.annotators, args.seconds, think, tmp
                        )
                        print(
                            f"  think {_label(think)}: {figures['per_s']:.0f} answers/s, "
                            f"p99 {figures['p99']:.1f} ms"
                        )
    if len(modes) > 1:
        print()
        print(_think_table(results, backends, sizes, modes, args))
    all_results = results
    results = {key[:2]: value for key, value in results.items() if key[2] == modes[0]}

    rows = []
    for backend in backends:
        for size in sizes:
            f = results[backend, size]
            rows.append(
                [backend, f"{size:,}", f"{f['answers']:,}", f"{f['per_s']:.0f}"]
                + [f"{f[k]:.1f}" for k in ("p50", "p95", "p99")]
            )
        small, large = results[backend, sizes[0]], results[backend, sizes[-1]]
        rows.append(
            [
                f"**{backend}: {sizes[-1]:,} / {sizes[0]:,}**",
                "",
                "",
                f"**{large['per_s'] / small['per_s']:.2f}x**",
                "",
                "",
                f"{large['p99'] / small['p99']:.2f}x",
            ]
        )
    if {"sqlite", "postgresql"} <= set(backends):
        for size in sizes:
            sq, pg = results["sqlite", size], results["postgresql", size]
            rows.append(
                [
                    f"**postgresql / sqlite, {size:,}**",
                    "",
                    "",
                    f"{pg['per_s'] / sq['per_s']:.2f}x",
                    "",
                    "",
                    f"{pg['p99'] / sq['p99']:.2f}x",
                ]
            )
    think_note = "" if modes[0] == (0.0, 0.0) else f", think {_label(modes[0])} s"
    table = markdown_table(
        [
            f"{args.annotators} annotator processes, overlap {args.overlap}, "
            f"{args.seconds:.0f} s{think_note}",
            "items",
            "answers",
            "answers/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
        ],
        rows,
    )
    verdicts = []
    if "sqlite" in backends:
        worst = max(results["sqlite", size]["p99"] for size in sizes)
        met = worst < TARGET_P99_MS
        verdicts.append(
            f"SQLite p99 under {TARGET_P99_MS:.0f} ms: **{'met' if met else 'MISSED'}** "
            f"(worst {worst:.1f} ms)."
        )
    for backend in backends:
        ratio = results[backend, sizes[-1]]["per_s"] / results[backend, sizes[0]]["per_s"]
        ok = ratio >= COLLAPSE_RATIO
        verdicts.append(
            f"{backend}: no collapse from {sizes[0]:,} to {sizes[-1]:,} items "
            f"(answers/s ratio >= {COLLAPSE_RATIO}): "
            f"**{'met' if ok else 'MISSED'}** ({ratio:.2f}x)."
        )
    body = table + "\n\n" + "\n".join(f"- {v}" for v in verdicts)
    if len(modes) > 1:
        body += "\n\n" + _think_table(all_results, backends, sizes, modes, args)
    print()
    print(body)
    if args.append_results:
        append_results("assignment_throughput", body)


def _think(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    low, high = float(low), float(high or low)
    if not 0 <= low <= high:
        raise SystemExit(f"--think: expected 0 or LOW-HIGH seconds, got {text!r}")
    return low, high


def _label(think: tuple) -> str:
    return "none" if think[1] == 0 else f"{think[0]:g}-{think[1]:g}"


def _think_table(results, backends, sizes, modes, args) -> str:
    """p99 with and without pauses between answers, per backend and size."""
    rows = []
    for backend in backends:
        for size in sizes:
            for think in modes:
                f = results[backend, size, think]
                rows.append(
                    [backend, f"{size:,}", _label(think), f"{f['answers']:,}", f"{f['per_s']:.0f}"]
                    + [f"{f[k]:.1f}" for k in ("p50", "p95", "p99")]
                )
    header = f"{args.annotators} annotators, think time (s)"
    return markdown_table(
        [header, "items", "think s", "answers", "answers/s", "p50 ms", "p95 ms", "p99 ms"], rows
    )


@contextmanager
def _nothing():
    yield None


if __name__ == "__main__":
    main()
