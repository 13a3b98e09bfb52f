"""Simulated crowds with known truth, to check and benchmark aggregation: annotators with
their own confusion matrices (good, sloppy), spammers (always one label, or uniformly random)
and adversaries (systematically wrong)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Crowd:
    answers: pd.DataFrame  # task, worker, label
    truth: pd.Series  # task -> true label
    confusions: np.ndarray  # worker x true x given
    kinds: pd.Series  # worker -> "good" | "sloppy" | "spammer" | "random" | "adversary"

    @property
    def accuracy(self) -> pd.Series:
        """Each worker's true chance of answering right (under the class priors used)."""
        diag = np.diagonal(self.confusions, axis1=1, axis2=2).mean(axis=1)
        return pd.Series(diag, index=self.kinds.index, name="accuracy")


def simulate_crowd(
    n_tasks: int = 1000,
    n_workers: int = 50,
    n_labels: int = 5,
    overlap: int = 5,
    shares: dict[str, float] | None = None,
    seed: int = 0,
) -> Crowd:
    """`overlap` distinct workers answer each task; worker kinds drawn by `shares`. Labels are
    the integers 0..n_labels-1, true labels uniform."""
    shares = shares or {"good": 0.5, "sloppy": 0.2, "spammer": 0.1, "random": 0.1, "adversary": 0.1}
    rng = np.random.default_rng(seed)
    kinds = rng.choice(
        list(shares), size=n_workers, p=np.array(list(shares.values())) / sum(shares.values())
    )
    eye = np.eye(n_labels)
    confusions = np.empty((n_workers, n_labels, n_labels))
    for w, kind in enumerate(kinds):
        if kind in ("good", "sloppy"):
            right = rng.uniform(0.75, 0.95) if kind == "good" else rng.uniform(0.4, 0.6)
            noise = rng.dirichlet(np.ones(n_labels), size=n_labels) * (1 - eye)
            noise /= noise.sum(axis=1, keepdims=True)
            confusions[w] = right * eye + (1 - right) * noise
        elif kind == "spammer":
            confusions[w] = np.zeros((n_labels, n_labels))
            confusions[w][:, rng.integers(n_labels)] = 1
        elif kind == "random":
            confusions[w] = np.full((n_labels, n_labels), 1 / n_labels)
        else:  # adversary: answers the next label, mostly
            confusions[w] = 0.9 * np.roll(eye, 1, axis=1) + 0.1 / n_labels
    truth = rng.integers(0, n_labels, n_tasks)
    # Distinct workers per task: the first `overlap` of a random permutation, vectorized.
    # (in chunks: a tasks x workers matrix of a million answers would not fit in memory).
    chunk = max(1, 5_000_000 // n_workers)
    workers = np.concatenate(
        [
            np.argsort(rng.random((min(chunk, n_tasks - start), n_workers)), axis=1)[:, :overlap]
            for start in range(0, n_tasks, chunk)
        ]
    ).ravel()
    tasks = np.repeat(np.arange(n_tasks), overlap)
    cumulative = confusions[workers, truth[tasks]].cumsum(axis=1)
    labels = (rng.random(len(tasks))[:, None] > cumulative).sum(axis=1).clip(max=n_labels - 1)
    answers = pd.DataFrame({"task": tasks, "worker": workers, "label": labels})
    return Crowd(
        answers,
        pd.Series(truth, name="truth").rename_axis("task"),
        confusions,
        pd.Series(kinds, name="kind").rename_axis("worker"),
    )
