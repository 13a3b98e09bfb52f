"""Many annotator processes on one project, on SQLite and PostgreSQL: nothing lost, doubled or
handed out twice; a killed process's lease runs out and its item goes to someone else."""

import json
import multiprocessing
import os
import random
import signal
import time
import uuid
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from labelkit import Project
from labelkit.store.tables import annotators, leases

ANSWER = {"label": "billing"}
ANNOTATORS = 16
# The scale is 10,000 items (LABELKIT_STRESS_ITEMS=10000, ~4-5 min on 2 shared cores);
# the default keeps the run near a minute. Same code path, same contention, fewer rounds.
ITEMS = int(os.environ.get("LABELKIT_STRESS_ITEMS", "2000"))
OVERLAP = 3
DEADLINE = 300  # seconds; a worker that is still busy then has hung


def make_project(folder: Path, db_url, n: int, **settings) -> None:
    keys = [f"c{k:05d}" for k in range(n)]
    frame = pd.DataFrame({"id": keys, "text": [f"message {key}" for key in keys]})
    with Project.create(folder, "classification", db_url=db_url, **settings) as project:
        project.import_items(frame, id_column="id", progress=False)


def annotate(folder: str, db_url, name: str, out: str) -> None:
    """One annotator (a separate process): label until every item is complete.

    Skips ~3% of items and retries ~2% of submits with the same client key, as a flaky
    network would. Writes what it was handed and which annotations it wrote."""
    rng = random.Random(name)
    handed, written, retried = [], [], 0
    with Project.open(folder, db_url=db_url) as project:
        item, start = project.next_item(name), time.monotonic()
        while time.monotonic() - start < DEADLINE:
            if item is None:  # others hold the rest, or it is all done
                if project.progress()["complete"] == ITEMS:
                    break
                time.sleep(0.05)
                item = project.next_item(name)
                continue
            handed.append(item.id)
            status = "skipped" if rng.random() < 0.03 else "submitted"
            what = dict(annotator=name, status=status, client_key=uuid.uuid4().hex)
            answer = ANSWER if status == "submitted" else None
            annotation, following = project.submit_and_next(item, answer, **what)
            if rng.random() < 0.02:  # the ack was lost: the browser sends it again
                again = project.submit(item, answer, **what)
                assert (again.id, again.created) == (annotation.id, False)
                retried += 1
            written.append(annotation.id)
            item = following
    Path(out).write_text(json.dumps({"handed": handed, "written": written, "retried": retried}))


def run_processes(target, argument_lists) -> list:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=target, args=args) for args in argument_lists]
    for process in processes:
        process.start()
    for process in processes:
        process.join(DEADLINE + 60)
    for process in processes:
        if process.is_alive():
            process.kill()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return processes


def test_16_annotator_processes_overlap_3(tmp_path, db_url, monkeypatch):
    # A throwaway store need not survive a power cut (the test PostgreSQL runs with fsync off
    # too): without an fsync per commit the run is bound by the assignment code, not the disk.
    monkeypatch.setenv("LABELKIT_SQLITE_SYNCHRONOUS", "NORMAL")
    folder = tmp_path / "p"
    make_project(folder, db_url, ITEMS, overlap=OVERLAP)
    names = [f"annotator-{k:02d}" for k in range(ANNOTATORS)]
    outs = [tmp_path / f"{name}.json" for name in names]
    args = [(str(folder), db_url, name, str(out)) for name, out in zip(names, outs, strict=True)]
    run_processes(annotate, args)

    reports = {name: json.loads(out.read_text()) for name, out in zip(names, outs, strict=True)}
    for name, report in reports.items():  # nobody was handed an item twice
        assert len(report["handed"]) == len(set(report["handed"])), name
    assert sum(r["retried"] for r in reports.values()) > 0  # the retry path ran

    with Project.open(folder, db_url=db_url) as project:
        rows = project.annotations()
        progress = project.progress()
    # no answer lost or doubled: exactly the annotations the workers were told were written
    written = sorted(i for r in reports.values() for i in r["written"])
    assert sorted(rows["id"]) == written
    assert not rows.duplicated(["item", "annotator"]).any()  # one touch per annotator and item
    # every item ends with exactly 3 submitted answers from 3 distinct annotators
    submitted = rows[rows["status"] == "submitted"]
    per_item = submitted.groupby("item")["annotator"].agg(["count", "nunique"])
    assert len(per_item) == ITEMS
    assert (per_item["count"] == OVERLAP).all() and (per_item["nunique"] == OVERLAP).all()
    assert progress["complete"] == ITEMS
    # the work was shared (a lock-step bug would let one process do everything)
    assert submitted["annotator"].nunique() == ANNOTATORS
    handed = {name: set(r["handed"]) for name, r in reports.items()}
    touched = rows.groupby("annotator")["item_id"].apply(set).to_dict()
    assert handed == touched


# ---------------------------------------------------------------------------- kill -9

LEASE_SECONDS = 4
SMALL = 40


def label_slowly(folder: str, db_url, name: str, log: str) -> None:
    """An annotator that logs each committed annotation, until it is killed."""
    with Project.open(folder, db_url=db_url) as project, open(log, "a") as out:
        item = project.next_item(name)
        while item is not None:
            annotation, item = project.submit_and_next(item, ANSWER, annotator=name)
            out.write(f"{annotation.id}\n")
            out.flush()
            time.sleep(0.02)


def test_killed_annotator_lease_runs_out_and_its_answers_stay(tmp_path, db_url):
    folder, log = tmp_path / "p", tmp_path / "victim.log"
    make_project(folder, db_url, SMALL, lease_seconds=LEASE_SECONDS)
    victim = multiprocessing.get_context("spawn").Process(
        target=label_slowly, args=(str(folder), db_url, "victim", str(log))
    )
    victim.start()
    try:
        deadline = time.monotonic() + 120
        while (not log.exists() or len(log.read_text().split()) < 8) and victim.is_alive():
            assert time.monotonic() < deadline, "the victim process never got going"
            time.sleep(0.05)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(30)
    assert victim.exitcode == -signal.SIGKILL

    with Project.open(folder, db_url=db_url) as project:
        with project.store.reading() as conn:
            held = conn.execute(
                sa.select(leases.c.item_id, leases.c.expires_at)
                .join(annotators, annotators.c.id == leases.c.annotator_id)
                .where(annotators.c.name == "victim")
            ).one()  # it died holding the lease on the item it was shown
        # everything it reported as written is there
        logged = {int(line) for line in log.read_text().split()}
        rows = project.annotations()
        victims = rows[rows["annotator"] == "victim"]
        assert logged <= set(victims["id"]) and len(victims) >= 8
        assert held.item_id not in set(victims["item_id"])

        # another annotator gets every other item, and the victim's only once its lease ends
        handed_at = {}
        item = project.next_item("bob")
        while time.time() < held.expires_at + 30:
            if item is None:
                time.sleep(0.2)
                item = project.next_item("bob")
                continue
            handed_at[item.id] = time.time()
            if item.id == held.item_id:
                break
            _, item = project.submit_and_next(item, ANSWER, annotator="bob")
        assert held.item_id in handed_at, "the dead process's item was never handed out again"
        assert handed_at[held.item_id] >= held.expires_at
        assert len(handed_at) == SMALL - len(victims)
        assert project.annotations()["id"].isin(victims["id"]).sum() == len(victims)
