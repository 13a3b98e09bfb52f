"""Label Studio sync: push N items and pull N annotations against a real server, in one run.

Compared with
- the floor: Label Studio's own bulk import of the same tasks (one `import_tasks` call with
  every task) for the push, and its own JSON export of the annotated project for the pull;
- a naive loop: one API call per task (`tasks.create` to push, `annotations.list` to pull),
  timed on `--naive-sample` tasks and scaled to N (say `--naive-sample N` to run it all).

The server is started from `.venv-ls/` (scripts/setup.sh --test) on 127.0.0.1, with its data in
a temporary folder, and stopped at the end. Usage, from the repository root:

    .venv/bin/python benchmarks/labelstudio_sync.py [--rows 10000] [--append-results]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
sys.path.insert(0, str(REPO))

from tests.labelstudio_server import LabelStudioServer  # noqa: E402

WORDS = (  # noqa: SIM905
    "my invoice was charged twice please refund the order since the app keeps crashing on login "
    "café naïve déjà vu support ticket waiting days for a reply update broken export"
).split()


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{' '.join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))} (ref {i})"
        for i in range(n)
    ]


def timed(what: str, fn):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"{what}: {seconds:.2f} s", flush=True)
    return seconds, value


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--rows", type=int, default=10_000, help="items / annotations (%(default)s)")
    cli.add_argument("--batch-size", type=int, default=1000, help="tasks per import call")
    cli.add_argument(
        "--naive-sample", type=int, default=1000, help="tasks timed in the naive loops"
    )
    cli.add_argument("--append-results", action="store_true", help=f"append to {RESULTS.name}")
    args = cli.parse_args()
    n, sample = args.rows, min(args.naive_sample, args.rows)

    import pandas as pd
    from label_studio_sdk import LabelStudio  # imported up front: a one-time cost per process

    from labelkit import Project
    from labelkit.labelstudio import link_project, sync_project
    from labelkit.labelstudio.config import LabelConfig

    work = Path(tempfile.mkdtemp(prefix="labelkit-bench-ls-"))
    server = LabelStudioServer(root=work / "server")
    print(f"starting Label Studio on {server.url} ...", flush=True)
    server.start()
    rows: list[list] = []
    try:
        ls = LabelStudio(base_url=server.url, api_key=server.token, timeout=600)
        project = Project.create(work / "project", "classification")
        items = pd.DataFrame({"id": [f"doc-{i:06d}" for i in range(n)], "text": texts(n)})
        project.import_items(items, id_column="id", progress=False)
        config = LabelConfig.from_schema(project.schema)
        labels = project.schema.questions[0].labels

        # ---------------------------------------------------------------- push
        floor_project = ls.projects.create(title="floor push", label_config=config.xml)
        tasks = [
            {"data": config.task_data({"text": t}), "meta": {"labelkit_key": k}}
            for k, t in zip(items["id"], items["text"], strict=True)
        ]
        push_floor, _ = timed(
            f"floor: one import_tasks call with {n} tasks",
            lambda: ls.projects.import_tasks(
                id=floor_project.id, request=tasks, return_task_ids=True
            ),
        )
        push_ours, report = timed(
            f"labelkit push of {n} items (batches of {args.batch_size})",
            lambda: sync_project(
                project,
                server.url,
                server.token,
                pull=False,
                batch_size=args.batch_size,
                progress=False,
            ),
        )
        assert report.tasks_pushed == n, report
        naive_project = ls.projects.create(title="naive push", label_config=config.xml)
        naive_push, _ = timed(
            f"naive: tasks.create x {sample}",
            lambda: [
                ls.tasks.create(project=naive_project.id, data=task["data"], meta=task["meta"])
                for task in tasks[:sample]
            ],
        )
        naive_push *= n / sample

        # ---------------------------------------------------------------- pull
        # A Label Studio project with N annotated tasks by three users (one import call).
        users = [
            ls.users.create(email=f"rater{i}@example.com", username=f"rater{i}") for i in range(3)
        ]
        rng = random.Random(1)
        annotated = [
            {
                **task,
                "annotations": [
                    {
                        "result": [
                            {
                                "from_name": "label",
                                "to_name": "text",
                                "type": "choices",
                                "value": {"choices": [rng.choice(labels)]},
                            }
                        ],
                        "completed_by": users[i % 3].id,
                        "ground_truth": False,
                        "lead_time": 3.5,
                    }
                ],
            }
            for i, task in enumerate(tasks)
        ]
        source = ls.projects.create(title="annotated", label_config=config.xml)
        ls.projects.import_tasks(id=source.id, request=annotated)
        pull_floor, exported = timed(
            f"floor: JSON export of {n} annotated tasks",
            lambda: json.loads(
                b"".join(
                    ls.projects.exports.download_sync(
                        id=source.id, export_type="JSON", download_all_tasks=True
                    )
                )
            ),
        )
        assert sum(len(t["annotations"]) for t in exported) == n
        pull_ours, (linked, link_report) = timed(
            f"labelkit pull of {n} annotations (link: tasks become items)",
            lambda: link_project(
                work / "linked",
                server.url,
                server.token,
                source.id,
                batch_size=args.batch_size,
                progress=False,
            ),
        )
        assert link_report.annotations_pulled == n and not link_report.invalid, link_report
        assert linked.progress()["annotations"] == n
        task_ids = [t["id"] for t in exported[:sample]]
        naive_pull, _ = timed(
            f"naive: annotations.list x {sample}",
            lambda: [ls.annotations.list(id=task_id) for task_id in task_ids],
        )
        naive_pull *= n / sample
        again, second = timed(
            "labelkit sync again (nothing to do)",
            lambda: sync_project(linked, server.url, server.token, progress=False),
        )
        assert not second.changed, second
        linked.close()
        project.close()

        scaled = "" if sample == n else f" (timed on {sample}, scaled)"
        rows = [
            [f"push {n} items", f"{push_floor:.2f}", f"{push_ours:.2f}",
             f"{push_ours / push_floor:.2f}x", f"{naive_push:.1f}{scaled}"],
            [f"pull {n} annotations", f"{pull_floor:.2f}", f"{pull_ours:.2f}",
             f"{pull_ours / pull_floor:.2f}x", f"{naive_pull:.1f}{scaled}"],
            ["sync again, nothing changed", "", f"{again:.2f}", "", ""],
        ]  # fmt: skip
    finally:
        server.cleanup()

    header = ["", "floor (s)", "labelkit (s)", "vs floor", "naive loop (s)"]
    table = "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    )
    print(table)
    if args.append_results:
        append_results(table, args)


def append_results(table: str, args) -> None:
    from importlib.metadata import version

    python = Path(sys.executable)
    if python.is_relative_to(REPO):
        python = python.relative_to(REPO)
    command = shlex.join([str(python), "benchmarks/labelstudio_sync.py", *sys.argv[1:]])
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    section = [
        f"## Label Studio sync: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        "",
        f"- machine: nproc {len(os.sched_getaffinity(0))}, {models[0] if models else '?'}, "
        f"load average {os.getloadavg()[0]:.2f} at the end",
        f"- Python {platform.python_version()}, label-studio 1.23.2 (SQLite, dev server), "
        f"label-studio-sdk {version('label-studio-sdk')}, labelkit store: SQLite",
        f"- command: `{command}`",
        "- floor: Label Studio's own bulk import (one call, every task) / its JSON export; "
        "labelkit: `sync_project` push (batches) / `link_project` pull (tasks become items, "
        "answers validated and appended with their mappings); naive: one call per task",
        "",
        table,
        "",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as out:  # append only: others write here too
        out.write("\n".join(section))
    print(f"appended to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
