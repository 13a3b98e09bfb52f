"""Aggregation speed and memory: labelkit.quality against crowd-kit on the same data.

Dawid-Skene (and one-coin, majority vote) on a simulated crowd of 1M answers (100k items,
500 annotators, 5 classes, 10 answers per item; good, sloppy, spammer, random and adversarial
annotators), and Bradley-Terry on 200k pairwise comparisons among 50 models. Each variant runs
in its own child process (fresh interpreter) so its peak memory is its own ("MB for the fit":
the peak above the process with data loaded and library imported); the data is made once and
cached as .npz.

    .venv/bin/python benchmarks/aggregation.py --append-results
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
from _common import CACHE_DIR, append_results, markdown_table, parser, peak_rss_mb

TARGET_SPEEDUP = 5.0
TARGET_ACCURACY_GAP = 0.005  # within half a point
CROWD = {"n_tasks": 100_000, "n_workers": 500, "n_labels": 5, "overlap": 10}
N_MODELS = 50

VARIANTS = {
    # name: (kind, description)
    "labelkit-ds": ("crowd", "labelkit DawidSkene"),
    "crowdkit-ds": ("crowd", "crowd-kit DawidSkene"),
    "labelkit-onecoin": ("crowd", "labelkit OneCoinDawidSkene"),
    "crowdkit-onecoin": ("crowd", "crowd-kit OneCoinDawidSkene"),
    "labelkit-mv": ("crowd", "labelkit MajorityVote"),
    "crowdkit-mv": ("crowd", "crowd-kit MajorityVote"),
    "labelkit-bt": ("pairs", "labelkit BradleyTerry"),
    "crowdkit-bt": ("pairs", "crowd-kit BradleyTerry (default tol: stops after 2 iterations)"),
    "crowdkit-bt-converged": ("pairs", "crowd-kit BradleyTerry, tol=-1, n_iter=200"),
}


def crowd_file(tasks: int):
    path = CACHE_DIR / f"crowd-{tasks}.npz"
    if not path.exists():
        from labelkit.quality.simulate import simulate_crowd

        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        crowd = simulate_crowd(**(CROWD | {"n_tasks": tasks}), seed=0)
        np.savez(
            path,
            **{c: crowd.answers[c].to_numpy() for c in crowd.answers},
            truth=crowd.truth.to_numpy(),
        )
    return path


def pairs_file(comparisons: int):
    path = CACHE_DIR / f"pairs-{comparisons}.npz"
    if not path.exists():
        rng = np.random.default_rng(0)
        strength = rng.normal(0, 1, N_MODELS)
        a = rng.integers(0, N_MODELS, comparisons)
        b = (a + rng.integers(1, N_MODELS, comparisons)) % N_MODELS
        left_wins = rng.random(comparisons) < 1 / (1 + np.exp(strength[b] - strength[a]))
        np.savez(path, left=a, right=b, winner=np.where(left_wins, a, b), strength=strength)
    return path


def run_variant(name: str, path: str) -> dict:
    """In the child: load the data, fit, report time, accuracy and peak memory."""
    warnings.simplefilter("ignore")
    data = np.load(path)
    if VARIANTS[name][0] == "crowd":
        answers = pd.DataFrame(
            {"task": data["task"], "worker": data["worker"], "label": data["label"]}
        )
        if name.startswith("labelkit"):
            from labelkit.quality import DawidSkene, MajorityVote, OneCoinDawidSkene

            model = {"ds": DawidSkene, "onecoin": OneCoinDawidSkene, "mv": MajorityVote}[
                name.split("-")[1]
            ]()
        else:
            from crowdkit import aggregation as ck

            model = {"ds": ck.DawidSkene, "onecoin": ck.OneCoinDawidSkene, "mv": ck.MajorityVote}
            model = model[name.split("-")[1]](**({} if name.endswith("mv") else {"n_iter": 100}))
        before = peak_rss_mb()  # data loaded, library imported: the rest is the fit's
        start = time.perf_counter()
        labels = model.fit_predict(answers)
        seconds = time.perf_counter() - start
        truth = pd.Series(data["truth"])
        accuracy = float((labels.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())
        iterations = len(getattr(model, "loss_history_", [])) or None
        quality = {"accuracy": accuracy, "iterations": iterations}
    else:
        names = np.array([f"model-{k:02d}" for k in range(N_MODELS)])
        frame = pd.DataFrame(
            {
                "worker": "w",
                "left": names[data["left"]],
                "right": names[data["right"]],
                "label": names[data["winner"]],
            }
        )
        if name == "labelkit-bt":
            from labelkit.quality import BradleyTerry

            model = BradleyTerry()
        else:
            from crowdkit import aggregation as ck

            model = ck.BradleyTerry(n_iter=200, tol=-1 if name.endswith("converged") else 1e-5)
        before = peak_rss_mb()  # data loaded, library imported: the rest is the fit's
        start = time.perf_counter()
        scores = model.fit_predict(frame)
        seconds = time.perf_counter() - start
        fitted = np.log(scores.reindex(names).to_numpy())
        p = scores.to_dict()
        log_likelihood = float(
            np.log(frame["label"].map(p) / (frame["left"].map(p) + frame["right"].map(p))).sum()
        )
        quality = {
            "correlation": float(np.corrcoef(fitted, data["strength"])[0, 1]),
            "log_likelihood": log_likelihood,
        }
    return {"seconds": seconds, "peak_mb": peak_rss_mb(), "data_mb": before, **quality}


def child(name: str, path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--variant", name, "--data", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    cli = parser(__doc__.splitlines()[0], default_rows=CROWD["n_tasks"])
    cli.add_argument("--comparisons", type=int, default=200_000)
    cli.add_argument("--variant", choices=list(VARIANTS), help=argparse_hidden())
    cli.add_argument("--data", help=argparse_hidden())
    args = cli.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.data)))
        return
    from tqdm.auto import tqdm

    crowd_path, pairs_path = crowd_file(args.rows), pairs_file(args.comparisons)
    results = {}
    for name in tqdm(VARIANTS, desc="variants"):
        results[name] = child(name, crowd_path if VARIANTS[name][0] == "crowd" else pairs_path)
    body = report(results, args.rows, args.comparisons)
    print(body)
    if args.append_results:
        append_results("aggregation", body)


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


def report(results: dict, tasks: int, comparisons: int) -> str:
    answers = tasks * CROWD["overlap"]
    rows = []
    for name, r in results.items():
        if VARIANTS[name][0] != "crowd":
            continue
        rows.append(
            [
                VARIANTS[name][1],
                f"{r['seconds']:.2f}",
                f"{100 * r['accuracy']:.2f}",
                r["iterations"] or "-",
                f"{r['peak_mb']:.0f}",
                f"{r['peak_mb'] - r['data_mb']:.0f}",
            ]
        )
    for method in ("ds", "onecoin", "mv"):
        ours, theirs = results[f"labelkit-{method}"], results[f"crowdkit-{method}"]
        rows.append(
            [
                f"**crowd-kit / labelkit, {method}**",
                f"**{theirs['seconds'] / ours['seconds']:.1f}x**",
                f"{100 * (ours['accuracy'] - theirs['accuracy']):+.2f} pt",
                "",
                f"{theirs['peak_mb'] / ours['peak_mb']:.2f}x",
                "",
            ]
        )
    crowd_table = markdown_table(
        [
            f"{answers:,} answers ({tasks:,} items, {CROWD['n_workers']} annotators, "
            f"{CROWD['n_labels']} classes)",
            "seconds",
            "accuracy %",
            "iterations",
            "peak MB",
            "MB for the fit",
        ],
        rows,
    )
    pair_rows = [
        [
            VARIANTS[n][1],
            f"{r['seconds']:.2f}",
            f"{r['correlation']:.4f}",
            f"{r['log_likelihood']:,.1f}",
            f"{r['peak_mb']:.0f}",
            f"{r['peak_mb'] - r['data_mb']:.0f}",
        ]
        for n, r in results.items()
        if VARIANTS[n][0] == "pairs"
    ]
    pair_table = markdown_table(
        [
            f"{comparisons:,} comparisons, {N_MODELS} models",
            "seconds",
            "corr. with true log-strength",
            "log likelihood",
            "peak MB",
            "MB for the fit",
        ],
        pair_rows,
    )
    ds, ck_ds = results["labelkit-ds"], results["crowdkit-ds"]
    speedup = ck_ds["seconds"] / ds["seconds"]
    gap = abs(ds["accuracy"] - ck_ds["accuracy"])
    met = speedup >= TARGET_SPEEDUP and gap <= TARGET_ACCURACY_GAP
    verdict = (
        f"Target: Dawid-Skene at least {TARGET_SPEEDUP:.0f}x faster than crowd-kit with accuracy "
        f"within 0.5 point: **{'met' if met else 'MISSED'}** ({speedup:.1f}x, {100 * gap:.2f} pt)."
    )
    bt, ck_bt = results["labelkit-bt"], results["crowdkit-bt-converged"]
    bt_line = (
        f"Bradley-Terry: crowd-kit run to convergence / labelkit time "
        f"{ck_bt['seconds'] / bt['seconds']:.1f}x; crowd-kit's default stops after two iterations "
        f"(its tolerance test compares the scores with an alias of themselves), hence its lower "
        f"log likelihood."
    )
    return "\n".join([crowd_table, "", pair_table, "", f"- {verdict}", f"- {bt_line}"])


if __name__ == "__main__":
    main()
